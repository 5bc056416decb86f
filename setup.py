"""Install the model zoo: the ``registry`` machinery, the ``zoo`` components and the recipes.

Recipes live in ``recipes/`` at the top of the checkout and are installed as ``zoo.recipes``
package data, so ``load_recipe("actionnet/base")`` works from a checkout and from an install.
Exact versions tested on our machines: ``requirements/constraints.txt``.
"""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="aqa-zoo",
    version="0.1.0",
    description="A graph-library based model zoo for action quality assessment in long videos",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[*find_packages(include=["registry", "registry.*", "zoo", "zoo.*"]), "zoo.recipes"],
    package_dir={"zoo.recipes": "recipes"},
    package_data={"zoo.recipes": ["*.yaml", "**/*.yaml"]},
    install_requires=[
        "torch>=2.4",
        "torchvision>=0.19",
        "torch-geometric>=2.5",
        "timm>=1.0",
        "pytorchvideo>=0.1.5",
        "einops>=0.7",
        "pyyaml>=6.0",
        "numpy>=1.24",
        "scipy>=1.10",
        "av>=12",
        "opencv-python-headless>=4.8,<5",  # OpenCV 5 moved the HOG people detector to contrib
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "tensorboard>=2.14",
    ],
    extras_require={
        "export": ["onnx>=1.16", "onnxscript>=0.2", "onnxruntime>=1.18"],
        "dev": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "onnx>=1.16",
            "onnxscript>=0.2",
            "onnxruntime>=1.18",
            "playwright>=1.40",  # tests/engine/test_report.py opens the HTML report in the system Chromium
        ],
    },
)
