"""Install the model zoo: the ``registry`` machinery, the ``zoo`` components, the recipes and the tools.

Recipes live in ``recipes/`` at the top of the checkout and are installed as ``zoo.recipes``
package data, so ``load_recipe("actionnet/base")`` works from a checkout and from an install.
The tools (``aqa_tools``) run as ``python tools/<tool>.py`` from a checkout and as the ``aqa-*``
console scripts declared below.
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
    packages=[*find_packages(include=["registry", "registry.*", "zoo", "zoo.*", "aqa_tools"]), "zoo.recipes"],
    package_dir={"zoo.recipes": "recipes"},
    package_data={"zoo.recipes": ["*.yaml", "**/*.yaml"], "zoo.engine": ["templates/*.html"]},
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
        "jinja2>=3.1",  # the run report (zoo/engine/templates/report.html), autoescaped
        "transformers>=4.40",  # the Audio Spectrogram Transformer (audio backbone ast)
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
            "torchcodec>=0.8",  # the optional decoder's tests (it needs FFmpeg's libraries: apt install ffmpeg)
        ],
    },
    # The same doors as tools/<tool>.py: `aqa-train actionnet/synthetic` is `python tools/train.py actionnet/synthetic`.
    entry_points={
        "console_scripts": [
            "aqa-train = aqa_tools.train:main",
            "aqa-test = aqa_tools.test:main",
            "aqa-predict = aqa_tools.predict:main",
            "aqa-report = aqa_tools.report:main",
            "aqa-export = aqa_tools.export:main",
            "aqa-extract = aqa_tools.extract_features:main",
            "aqa-synthetic = aqa_tools.make_synthetic:main",
            "aqa-list = aqa_tools.list:main",
            "aqa-recipe = aqa_tools.recipe:main",
            "aqa-table = aqa_tools.zoo_table:main",
            "aqa-convert = aqa_tools.convert_official:main",
        ],
    },
)
