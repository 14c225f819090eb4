#!/usr/bin/env bash
# The benchmark environment: fastai 2.8 and course_lib side by side, so that every implementation runs on the same
# interpreter and packages. It is separate from .venv because fastai 2.8 needs fastcore >= 2.2 while nbdev 2 (course_lib's
# notebook tooling, not its runtime) needs fastcore < 2.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv-fastai/bin/python ] || python3 -m venv .venv-fastai
.venv-fastai/bin/python -m pip install -q --upgrade pip
.venv-fastai/bin/python -m pip install -q 'fastai>=2.8,<2.9' scikit-learn -e ..
.venv-fastai/bin/python -c "import fastai, torch, course_lib; print('fastai', fastai.__version__, 'torch', torch.__version__, 'course_lib', course_lib.__version__)"
