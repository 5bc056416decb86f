"""Training, evaluation, metrics, checkpoints, logging and distributed runs."""

from . import hooks, metrics, optim, stages, trainer
from .run import test_checkpoint, train, train_per_class
from .seeds import train_recipe_seeds, train_seed, train_seeds
from .trainer import Trainer, TrainingDiverged

__all__ = [
    "Trainer",
    "TrainingDiverged",
    "hooks",
    "metrics",
    "optim",
    "stages",
    "test_checkpoint",
    "train",
    "train_per_class",
    "train_recipe_seeds",
    "train_seed",
    "train_seeds",
    "trainer",
]
