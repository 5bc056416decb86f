"""Backbones: clip/frame shapes, stripped classifier heads, weights, offline pretrained, freezing, registry."""

from __future__ import annotations

import ast
import json
import math
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

from registry import ConfigError, RegistryError, UserError
from zoo.backbones import PTV_MODELS, InputSpec
from zoo.backbones.video import LEFT_OUT
from zoo.kinds import BACKBONES

REPO = Path(__file__).resolve().parents[2]


def build(type_: str, **kwargs):
    return BACKBONES.build({"type": type_, **kwargs})


def features(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return backbone.eval()(x)


def assert_not_softmax(y: torch.Tensor) -> None:
    assert not torch.allclose(y.sum(dim=1), torch.ones(len(y)), atol=1e-3), "rows sum to 1: a softmax head is left"


# -- ptv: video backbones ---------------------------------------------------------------------
def test_x3d_xs_gives_pooled_features_at_any_clip_size():
    torch.manual_seed(0)
    b = build("ptv:x3d_xs")
    assert b.feature_dim == 2048
    assert not any(isinstance(m, nn.Softmax) for m in b.modules())
    y = features(b, torch.randn(2, 3, 4, 64, 64) * 50)  # BN in eval is linear: scale makes values large
    assert y.shape == (2, b.feature_dim) and torch.isfinite(y).all()
    assert_not_softmax(y)
    assert not ((y >= 0) & (y <= 1)).all()
    # The hub head pools with a fixed (4, 5, 5) kernel; the backbone pools globally instead.
    y = features(b, torch.randn(1, 3, 6, 80, 96))
    assert y.shape == (1, 2048)


@pytest.mark.parametrize(
    ("name", "clip"),
    [
        ("c2d_r50", (1, 3, 4, 32, 32)),
        ("slowfast_r50", (1, 3, 8, 64, 64)),
        ("slowfast_r50", (2, 3, 6, 32, 32)),  # T not a multiple of alpha
        ("r2plus1d_r50", (1, 3, 4, 32, 32)),
        ("efficient_x3d_xs", (1, 3, 4, 64, 64)),
    ],
)
def test_ptv_tiny_clip_features(name, clip):
    torch.manual_seed(0)
    b = build(f"ptv:{name}")
    y = features(b, torch.randn(*clip))
    assert y.shape == (clip[0], PTV_MODELS[name].feature_dim)
    assert torch.isfinite(y).all()
    assert_not_softmax(y)


def test_slowfast_pathways_from_one_clip():
    b = build("ptv:slowfast_r50")
    assert b.alpha == 4
    x = torch.arange(32.0).view(1, 1, 32, 1, 1).expand(1, 3, 32, 2, 2)
    slow, fast = b.pathways(x)
    assert fast is x
    # PySlowFast's PackPathway: linspace(0, T - 1, T // alpha) frames.
    assert slow[0, 0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]


NO_TEMPORAL_DOWNSAMPLING = ["x3d_xs", "x3d_s", "x3d_m", "x3d_l", "slow_r50", *(n for n in PTV_MODELS if "fast" in n)]


@pytest.mark.parametrize("name", NO_TEMPORAL_DOWNSAMPLING)
def test_table_matches_the_clip_the_hub_head_was_built_for(name):
    """Models without temporal downsampling: the hub's fixed head pool is (frames, size / 32, size / 32)."""
    from pytorchvideo.models import hub

    net = getattr(hub, name)()
    row = PTV_MODELS[name]
    cells = math.ceil(row.size / 32)
    if "slowfast" in name:
        alpha = net.blocks[0].multipathway_fusion.conv_fast_to_slow.stride[0]
        kernels = [tuple(int(k) for k in p.kernel_size) for p in net.blocks[-2].pool]
        assert kernels == [(row.frames // alpha, cells, cells), (row.frames, cells, cells)]
    else:
        pool = net.blocks[-1].pool
        pool = getattr(pool, "pool", pool)  # X3D's ProjectedPool
        assert tuple(int(k) for k in pool.kernel_size) == (row.frames, cells, cells)


def test_ptv_names_cover_the_hub():
    from pytorchvideo.models import hub

    hub_models = {n for n in dir(hub) if not n.startswith("_") and callable(getattr(hub, n))}
    assert set(PTV_MODELS) | set(LEFT_OUT) == hub_models


def test_wrong_input_shape_names_backbone_and_shape():
    b = build("ptv:x3d_xs")
    with pytest.raises(ValueError, match=r"ptv:x3d_xs expects frames \[B, 3, T, H, W\].*got \[3, 4, 64, 64\]"):
        b(torch.randn(3, 4, 64, 64))
    with pytest.raises(ValueError, match=r"got \[1, 4, 3, 64, 64\].*permute"):
        b(torch.randn(1, 4, 3, 64, 64))
    with pytest.raises(ValueError, match="uint8"):
        b(torch.zeros(1, 3, 4, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"timm:resnet18 expects frames \[B, 3, H, W\].*got \[1, 3, 4, 64, 64\]"):
        build("timm:resnet18")(torch.randn(1, 3, 4, 64, 64))


# -- timm: image backbones --------------------------------------------------------------------
def test_timm_resnet18_features_and_input_spec():
    import timm

    b = build("timm:resnet18")
    y = features(b, torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 512) and b.feature_dim == 512
    cfg = timm.data.resolve_data_config({}, model=b.net)
    spec = b.input_spec
    assert (spec.kind, spec.frames, spec.sampling_rate) == ("image", 1, 1)
    assert spec.size == tuple(cfg["input_size"][1:]) and spec.mean == cfg["mean"] and spec.std == cfg["std"]


def test_timm_other_family_reports_the_width_it_outputs():
    # MobileNetV3 has a pre-logits conv: timm's num_features (288) is not what forward returns (1024).
    b = build("timm:mobilenetv3_small_050")
    y = features(b, torch.randn(2, 3, 64, 64))
    assert y.shape == (2, b.feature_dim) == (2, 1024)
    assert torch.isfinite(y).all()


# -- weights: local checkpoints ---------------------------------------------------------------
def test_weights_round_trip(tmp_path):
    torch.manual_seed(0)
    src = build("ptv:x3d_xs").eval()
    x = torch.randn(1, 3, 4, 32, 32)
    want = features(src, x)
    sd = src.state_dict()
    files = {
        "plain.pth": sd,
        "ddp_wrapped.pth": {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3},
    }
    for fname, obj in files.items():
        torch.save(obj, tmp_path / fname)
        other = build("ptv:x3d_xs", weights=str(tmp_path / fname))
        assert torch.equal(features(other, x), want), fname
    fresh = build("ptv:x3d_xs")
    assert not torch.equal(features(fresh, x), want)  # the loads above did something


def test_weights_accept_the_library_checkpoint(tmp_path):
    """What a hand-downloaded model-zoo file holds: the whole classifier's state under 'model_state'."""
    import timm
    from pytorchvideo.models import hub

    net = hub.x3d_xs()
    torch.save({"model_state": net.state_dict()}, tmp_path / "X3D_XS.pyth")
    b = build("ptv:x3d_xs", weights=str(tmp_path / "X3D_XS.pyth"))
    assert torch.equal(b.net.blocks[0].conv.conv_xy.weight, net.blocks[0].conv.conv_xy.weight)

    raw = timm.create_model("resnet18").eval()
    torch.save(raw.state_dict(), tmp_path / "resnet18.pth")  # holds fc.weight / fc.bias
    b = build("timm:resnet18", weights=str(tmp_path / "resnet18.pth"))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(features(b, x), raw.forward_head(raw.forward_features(x), pre_logits=True))


def test_weights_safetensors(tmp_path):
    from safetensors.torch import save_file

    src = build("timm:resnet18").eval()
    save_file(src.state_dict(), str(tmp_path / "r18.safetensors"))
    b = build("timm:resnet18", weights=str(tmp_path / "r18.safetensors"))
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(features(b, x), features(src, x))


def test_weights_that_do_not_fit_name_file_and_keys(tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"foo.weight": torch.zeros(2)}, bad)
    with pytest.raises(ConfigError) as err:
        build("ptv:x3d_xs", weights=str(bad))
    msg = str(err.value)
    assert str(bad) in msg and "foo.weight" in msg and "blocks.0.conv.conv_t.weight" in msg and "ptv:x3d_xs" in msg

    sd = build("ptv:x3d_xs").state_dict()
    sd["net.blocks.0.norm.weight"] = torch.zeros(7)
    torch.save(sd, bad)
    with pytest.raises(ConfigError, match=r"shape mismatches \(1\): blocks.0.norm.weight: \(7,\)"):
        build("ptv:x3d_xs", weights=str(bad))

    torch.save([1, 2, 3], bad)
    with pytest.raises(ConfigError, match="holds no state_dict"):
        build("ptv:x3d_xs", weights=str(bad))
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build("ptv:x3d_xs", weights=str(tmp_path / "nope.pth"))


def test_weights_and_pretrained_together_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not both"):
        build("ptv:x3d_xs", pretrained=True, weights=str(tmp_path / "w.pth"))


# -- pretrained: the libraries' own downloads, offline ---------------------------------------
def test_ptv_pretrained_offline_says_what_to_do(monkeypatch):
    calls = []

    def offline(url, *args, **kwargs):
        calls.append((url, kwargs.get("weights_only")))
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    # The zoo downloads pytorchvideo's checkpoints itself (weights_only=True), through torch.hub.
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(UserError, match=r"could not be downloaded") as err:
        build("ptv:x3d_xs", pretrained=True)
    assert calls and calls[0][0].endswith("X3D_XS.pyth") and calls[0][1] is True
    assert "ptv:x3d_xs" in str(err.value) and "weights: /path/to/checkpoint.pth" in str(err.value)


def test_timm_pretrained_offline_says_what_to_do(monkeypatch):
    import timm.models._hub as timm_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    calls = []

    def offline(*args, **kwargs):
        calls.append(kwargs.get("repo_id", args[0] if args else None))
        raise LocalEntryNotFoundError("cannot find the requested files in the local cache")

    monkeypatch.setattr(timm_hub, "hf_hub_download", offline)
    with pytest.raises(RuntimeError, match=r"could not be downloaded") as err:
        build("timm:resnet18", pretrained=True)
    assert calls and "resnet18" in calls[0]
    assert "timm:resnet18" in str(err.value) and "weights: /path/to/checkpoint.pth" in str(err.value)


# -- freeze -----------------------------------------------------------------------------------
def test_freeze_keeps_eval_mode_under_a_parent_train():
    b = build("ptv:x3d_xs", freeze=True)
    assert b.frozen and not any(p.requires_grad for p in b.parameters())
    assert not b.train().training
    parent = nn.Sequential(b, nn.Linear(2048, 1)).train()
    assert parent.training and parent[1].training
    assert not any(m.training for m in b.modules())
    stats = b.net.blocks[0].norm.running_mean.clone()
    b(torch.randn(2, 3, 4, 32, 32))  # in train mode BatchNorm would update its running stats
    assert torch.equal(stats, b.net.blocks[0].norm.running_mean)

    unfrozen = build("timm:resnet18")
    nn.Sequential(unfrozen).train()
    assert unfrozen.training and all(p.requires_grad for p in unfrozen.parameters())
    assert not build("timm:resnet18", freeze=True).train().training


# -- registry doors ---------------------------------------------------------------------------
def test_registry_lists_builds_and_suggests():
    assert [e.name for e in BACKBONES.list("ptv:*")] == sorted(f"ptv:{n}" for n in PTV_MODELS)
    assert "timm:resnet18" in BACKBONES
    assert "4x12" in BACKBONES.describe("ptv:x3d_xs")
    with pytest.raises(ConfigError, match=r"\['bogus'\].*accepts: pretrained, weights, freeze"):
        BACKBONES.build({"type": "ptv:x3d_xs", "bogus": 1})
    with pytest.raises(RegistryError, match="ptv:x3d_xs"):
        BACKBONES.get("ptv:x3d_xx")


def test_input_spec_to_dict_is_plain_and_round_trips():
    spec = build("ptv:x3d_xs").input_spec
    d = spec.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["size"] == [160, 160] and d["frames"] == 4 and d["sampling_rate"] == 12
    assert InputSpec(**d) == spec
    with pytest.raises(ValueError, match="kind"):
        InputSpec(kind="audio", frames=1, sampling_rate=1, size=(1, 1), mean=(0, 0, 0), std=(1, 1, 1))


@pytest.mark.parametrize("module", ["base.py", "video.py", "image.py"])
def test_libraries_are_imported_only_when_a_backbone_is_built(module):
    """``import zoo`` must stay light: no module-level import of pytorchvideo or timm."""
    tree = ast.parse((REPO / "zoo" / "backbones" / module).read_text())
    top = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and n.col_offset == 0]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] in {"pytorchvideo", "timm"}]


def test_zero_init_last_false_opens_every_residual_branch_of_a_random_network():
    # Both libraries start the last norm of each residual branch at 0: a random network's blocks are off.
    default = BACKBONES.build({"type": "ptv:x3d_xs"})
    opened = BACKBONES.build({"type": "ptv:x3d_xs", "zero_init_last": False})
    zeros = [n for n, p in default.named_parameters() if n.endswith("norm_c.weight") and not p.detach().any()]
    assert zeros and not [n for n, p in opened.named_parameters() if n.endswith("weight") and not p.detach().any()]
    timm_open = BACKBONES.build({"type": "timm:resnet18", "zero_init_last": False})
    assert all(p.detach().any() for n, p in timm_open.named_parameters() if n.endswith("bn2.weight"))
