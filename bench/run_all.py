"""Run every benchmark and write bench/results.md: the machine, then one table per benchmark.

Usage (from the repository root, after `bash .ci/setup`): .venv/bin/python bench/run_all.py [--runs 8]"""
import argparse, datetime, os, platform, sys
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).parent))
import images, loop, text

def table(rows) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    return '\n'.join(lines + ['| ' + ' | '.join(str(r.get(c, '')) for c in cols) + ' |' for r in rows])

def machine() -> str:
    return (f"{platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), {'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}")

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=8); a = p.parse_args()
    os.environ.setdefault('COURSE_LIB_SIZE', 'tiny')
    parts = [f"# Benchmark results\n\n{datetime.date.today()}, {machine()}, {a.runs} interleaved runs, medians.\n",
             "## Training loop (bench/loop.py)\n", table(loop.main(a.runs, ['cnn', 'resnet18']) + loop.main(a.runs, ['resnet18'], 'fast')),
             "\n## Image pipeline (bench/images.py)\n", table(images.main(a.runs, 64)),
             "\n## Text (bench/text.py)\n", table(text.main(a.runs))]
    out = Path(__file__).parent/'results.md'
    out.write_text('\n'.join(parts) + '\n'); print(out.read_text())
