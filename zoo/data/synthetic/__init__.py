"""A synthetic rhythmic-gymnastics set: stick-figure routines rendered to MP4, judged by a known formula.

``make_synthetic(out_dir)`` writes videos, RG-format annotations and every latent factor (docs/SYNTHETIC.md);
``sample_routine(index, seed)`` gives one video's latents and score without rendering; ``render_frame`` draws
one frame.
``make_synthetic(out_dir, soundtrack=True)`` adds music with a beat and a rhythm term to the score.
"""

from .config import ScoreModel, SyntheticConfig
from .figure import ANGLES, ELEMENTS, Element
from .motion import PHASES
from .render import background, figure_boxes, render_frame, render_frames
from .rhythm import Rhythm
from .routine import Routine, Score, judge, sample_routine
from .soundtrack import Beat, Soundtrack, synthesize
from .writer import annotation_text, encode_mp4, make_synthetic, render_key, split_test, video_name

__all__ = [
    "ANGLES",
    "ELEMENTS",
    "PHASES",
    "Beat",
    "Element",
    "Rhythm",
    "Routine",
    "Score",
    "ScoreModel",
    "Soundtrack",
    "SyntheticConfig",
    "annotation_text",
    "background",
    "encode_mp4",
    "figure_boxes",
    "judge",
    "make_synthetic",
    "render_frame",
    "render_frames",
    "render_key",
    "sample_routine",
    "split_test",
    "synthesize",
    "video_name",
]
