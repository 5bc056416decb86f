"""Downloaded or cached weights are read with weights_only=True: a poisoned hub cache file never runs."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
import torch

from registry import ConfigError
from zoo.backbones.video import _checkpoint_url
from zoo.imports import import_quietly
from zoo.kinds import BACKBONES


class Payload:
    """Unpickling this would create a file: what a malicious checkpoint would do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))


def cached_file(tmp_path: Path, name: str) -> Path:
    url = _checkpoint_url(name)
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / Path(urllib.parse.urlparse(url).path).name


def test_a_poisoned_hub_cache_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    marker = tmp_path / "marker"
    torch.save({"model_state": Payload(marker)}, cached_file(tmp_path, "x3d_xs"))
    with pytest.raises(ConfigError, match="holds Python objects besides tensors.*refused"):
        BACKBONES.build({"type": "ptv:x3d_xs", "pretrained": True})
    assert not marker.exists()


def test_a_good_hub_cache_file_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    hub = import_quietly("pytorchvideo.models.hub")
    torch.manual_seed(3)
    reference = hub.x3d_xs(pretrained=False)
    torch.save({"model_state": reference.state_dict(), "epoch": 300}, cached_file(tmp_path, "x3d_xs"))
    backbone = BACKBONES.build({"type": "ptv:x3d_xs", "pretrained": True})
    ours = backbone.net.state_dict()
    for key, value in ours.items():
        torch.testing.assert_close(value, reference.state_dict()[key])
