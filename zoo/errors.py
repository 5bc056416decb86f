"""The errors that mean "the input was wrong" (as opposed to a bug): tools print them without a traceback."""

from registry import ConfigError, RecipeError, RegistryError

from .data.annotations import AnnotationError
from .data.features import FeatureError
from .data.video import VideoError

USER_ERRORS: tuple[type[BaseException], ...] = (
    RecipeError,
    RegistryError,
    ConfigError,
    AnnotationError,
    FeatureError,
    VideoError,
    FileNotFoundError,
    ValueError,
)
