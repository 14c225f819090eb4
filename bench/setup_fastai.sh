#!/usr/bin/env bash
# A separate environment for fastai 2.8 (it needs fastcore >= 2.2; course_lib's nbdev 2 tooling needs fastcore < 2).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv-fastai/bin/python ] || python3 -m venv .venv-fastai
.venv-fastai/bin/python -m pip install -q --upgrade pip
.venv-fastai/bin/python -m pip install -q 'fastai>=2.8,<2.9' scikit-learn
.venv-fastai/bin/python -c "import fastai, torch; print('fastai', fastai.__version__, 'torch', torch.__version__)"
