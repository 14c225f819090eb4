"""Run lessons the way a learner does: JupyterLab from this environment, driven by headless Chromium (selenium).

`python tools/jupyterlab_test.py 00 05 17`: starts JupyterLab on loopback with a random token over a copy of nbs/, and for
each notebook named (or the start of its name) opens it, runs all cells, saves it and checks the saved file: every code
cell executed, no error output; then that what a lesson shows rendered in the page: plots, training tables, and the
widgets of `05` (ImageCleaner) and `17` (the reviewer). Screenshots go to `--shots` (default `_screenshots/`). Prints a
line per notebook and ends with `N passed, N failed`. Needs Debian's `chromium` and `chromium-driver`."""
import argparse, json, os, secrets, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT/'_screenshots'
sys.path.insert(0, str(ROOT/'tools'))
from execute import machine, save, stamp  # noqa: E402
from run_notebooks import select  # noqa: E402

# What each lesson must show in the page, beyond "ran without an error": CSS selectors, each at least once.
SHOWS = {
    '05_image_classification': {'a plot': '.jp-OutputArea-output img', 'a training table': '.jp-OutputArea-output table',
                                "ImageCleaner's buttons": '.jp-OutputArea-output .widget-button'},
    '17_review': {"the reviewer's buttons": '.jp-OutputArea-output .widget-button'},
}
DEFAULT_SHOWS = {'a plot': '.jp-OutputArea-output img'}

def learner_env() -> dict:
    "The environment a learner has: none of the test runner's settings for matplotlib or torch's threads."
    env = {k: v for k, v in os.environ.items() if k not in ('MPLBACKEND', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'IN_TEST')}
    return dict(env, JUPYTER_RUNTIME_DIR=tempfile.mkdtemp(prefix='jupyter-runtime-'))

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class Lab:
    "JupyterLab on loopback over `folder`, with a random token; `with Lab(folder) as lab: lab.url(...)`; stopped on exit."
    def __init__(self, folder:Path, timeout:float=60):
        self.folder, self.timeout, self.port, self.token = folder, timeout, free_port(), secrets.token_hex(16)
    def __enter__(self):
        jupyter = Path(sys.executable).parent/'jupyter'
        self.log = open(self.folder.parent/'jupyterlab.log', 'w')
        self.proc = subprocess.Popen([str(jupyter), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={self.port}',
                                      f'--IdentityProvider.token={self.token}', f'--ServerApp.root_dir={self.folder}',
                                      '--LabApp.expose_app_in_browser=True', *(['--allow-root'] if os.geteuid() == 0 else [])],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=learner_env())
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None: raise RuntimeError(f"JupyterLab exited: {self.log_tail()}")
            try: urllib.request.urlopen(f'http://127.0.0.1:{self.port}/api/status?token={self.token}', timeout=2); return self
            except OSError: time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer on port {self.port} in {self.timeout} s: {self.log_tail()}")
    def log_tail(self) -> str: self.log.flush(); return (self.folder.parent/'jupyterlab.log').read_text()[-2000:]
    def url(self, nb:str) -> str: return f'http://127.0.0.1:{self.port}/lab/tree/{nb}?token={self.token}&reset'
    def api(self, path:str, method:str='GET'):
        req = urllib.request.Request(f'http://127.0.0.1:{self.port}/api/{path}', method=method,
                                     headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(req, timeout=30) as r: body = r.read()
        return json.loads(body) if body else None
    def shutdown_kernels(self):
        for k in self.api('kernels'): self.api(f"kernels/{k['id']}", 'DELETE')
    def __exit__(self, *exc):
        self.proc.terminate()
        try: self.proc.wait(20)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        self.log.close()

def browser(*args:str):
    "Headless Debian Chromium through its own chromedriver, with no background network traffic; `args`: more switches."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which('chromium') or '/usr/bin/chromium'
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1400,1000',
              '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
              '--disable-quic', f'--user-data-dir={tempfile.mkdtemp(prefix="chromium-")}', *args): opts.add_argument(a)
    return webdriver.Chrome(service=Service(shutil.which('chromedriver') or '/usr/bin/chromedriver'), options=opts)

RUN_STATE = """const app = window.jupyterapp; if (!app) return 'no app';
const w = app.shell.currentWidget; if (!w || !w.content || !w.sessionContext) return 'no notebook';
const k = w.sessionContext.session && w.sessionContext.session.kernel; if (!k) return 'no kernel';
const running = [...w.content.widgets].some(c => c.model.type === 'code' && c.promptNode && c.promptNode.textContent.includes('*'));
return k.status + (running ? ' running' : '');"""

def wait_for(driver, ok, what:str, timeout:float, every:float=0.5):
    end = time.monotonic() + timeout; state = None
    while time.monotonic() < end:
        state = driver.execute_script(RUN_STATE)
        if ok(state): return state
        time.sleep(every)
    raise TimeoutError(f"{what}: still '{state}' after {timeout} s")

def problems(saved:dict) -> list:
    "What is wrong with a notebook saved after Run All: cells never executed, error outputs."
    out = []
    for i, c in enumerate(saved['cells']):
        if c['cell_type'] != 'code' or not ''.join(c['source']).strip(): continue
        if c.get('execution_count') is None: out.append(f"cell {i} was not executed"); continue
        for o in c.get('outputs', []):
            if o['output_type'] == 'error': out.append(f"cell {i}: {o['ename']}: {o['evalue'][:300]}")
    return out

def run_lesson(driver, lab:Lab, nb:Path, shots:Path, timeout:float, keep:Path=None, where:dict=None) -> tuple:
    "Open, Run All, save and check one notebook, kept with its outputs in `keep` if given: (ok, seconds, what failed)."
    from selenium.webdriver.common.by import By
    t = time.perf_counter(); driver.get(lab.url(nb.name))
    wait_for(driver, lambda s: s == 'idle', f"{nb.name}: kernel start", 90)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    time.sleep(2)
    wait_for(driver, lambda s: s == 'idle', f"{nb.name}: Run All", timeout, every=1)
    time.sleep(1); wait_for(driver, lambda s: s == 'idle', f"{nb.name}: Run All", 30)   # idle twice: really done
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save')")
    time.sleep(2)
    secs = time.perf_counter() - t
    saved = json.loads((lab.folder/nb.name).read_text())
    found = problems(saved)
    for what, css in SHOWS.get(nb.stem, DEFAULT_SHOWS).items():
        if not driver.find_elements(By.CSS_SELECTOR, css): found.append(f"no {what} in the page ({css})")
    shots.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(shots/f'{nb.stem}.png'))
    for what, css in SHOWS.get(nb.stem, {}).items():   # and the widget itself, scrolled into view
        els = driver.find_elements(By.CSS_SELECTOR, css)
        if els and 'button' in css:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", els[0]); time.sleep(0.5)
            driver.save_screenshot(str(shots/f'{nb.stem}-widget.png'))
    lab.shutdown_kernels()
    if keep: save(stamp(saved, where, 'jupyterlab', secs, {}, not found), keep/nb.name)
    return not found, secs, found

def run_all(nbs:list, shots:Path, timeout:float=300, keep:Path=None) -> list:
    "Run `nbs` in one JupyterLab, one after the other (saved notebooks kept in `keep` if given): the names that failed."
    work, failed, where = Path(tempfile.mkdtemp(prefix='jupyterlab-test-')), [], machine() if keep else None
    shutil.copytree(ROOT/'nbs', work/'nbs')
    t0 = time.perf_counter()
    try:
        with Lab(work/'nbs') as lab:
            driver = browser()
            try:
                for nb in nbs:
                    try: ok, secs, found = run_lesson(driver, lab, nb, shots, timeout, keep, where)
                    except Exception as e: ok, secs, found = False, 0., [f"{type(e).__name__}: {e}"]; lab.shutdown_kernels()
                    print(f"{'PASS' if ok else 'FAIL'}  jupyterlab {nb.name:<40} {secs:6.1f} s", flush=True)
                    for f in found: print(f"      {f}", flush=True)
                    if not ok: failed.append(f'jupyterlab {nb.name}')
            finally: driver.quit()
    finally: shutil.rmtree(work, ignore_errors=True)
    print(f"jupyterlab pass: {time.perf_counter() - t0:.1f} s; screenshots in {shots}", flush=True)
    return failed

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', default=['00', '05', '17'], help='notebooks, or the start of their names')
    p.add_argument('--shots', default=str(SHOTS), help=f'folder for the screenshots (default {SHOTS.relative_to(ROOT)})')
    p.add_argument('--timeout', type=float, default=300, help='seconds for one notebook to run')
    args = p.parse_args(argv)
    nbs = select(args.notebooks)
    failed = run_all(nbs, Path(args.shots), args.timeout)
    print(f"{len(nbs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
