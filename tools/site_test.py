"""Check the lesson site in `_docs/` in headless Chromium, served over loopback as GitHub Pages would serve it.

`python tools/site_test.py` (after `tools/build_site.py`): for the index and every lesson page: it loads (HTTP 200, the
document complete, a title); no error: no traceback, no error line in an output, no failed-execution banner; every
figure the executed notebook holds is in the page and decoded by the browser; every widget's saved state is embedded;
every link inside the site resolves, anchors included (links to other sites are counted, not followed: the test runs
offline, with every host but loopback unresolvable). Screenshots of the index and one lesson go to `_screenshots/`.
Prints a line per page and ends with `N passed, N failed`. `tools/run_notebooks.py`'s `site` pass builds then runs this."""
import argparse, functools, http.server, json, re, sys, threading, time, urllib.parse, urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_site import DOCS, EXECUTED, ROOT, SiteError, build  # noqa: E402
from jupyterlab_test import SHOTS, browser  # noqa: E402

FIGURES = ('image/png', 'image/jpeg', 'image/svg+xml')
ERROR_LINE = re.compile(r'^\s*(Traceback \(most recent call last\)|\w*(Error|Exception): )', re.M)
PAGE_STATE = """return {title: document.title, ready: document.readyState,
 imgs: [...document.querySelectorAll('.jp-OutputArea-output img, .jp-OutputArea-output svg')].length,
 broken: [...document.querySelectorAll('.jp-OutputArea-output img')].filter(i => !(i.complete && i.naturalWidth > 0)).length,
 tables: document.querySelectorAll('.jp-OutputArea-output table').length,
 failed: document.querySelectorAll('.cl-failed').length,
 stderr: [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.innerText),
 errors: [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText).filter(t => t.includes('Traceback')),
 widgets: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
 links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))};"""

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

class Server:
    "`folder` served over HTTP on a free loopback port: `with Server(folder) as s: s.url(page)`."
    def __init__(self, folder:Path): self.folder = folder
    def __enter__(self):
        handler = functools.partial(QuietHandler, directory=str(self.folder))
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self
    def url(self, page:str='') -> str: return f'http://127.0.0.1:{self.httpd.server_address[1]}/{page}'
    def __exit__(self, *exc): self.httpd.shutdown(); self.httpd.server_close()

def expected(name:str) -> dict:
    "What the executed notebook holds that its page must show: the number of figures, whether widgets saved state."
    f = EXECUTED/f'{name}.ipynb'
    if not f.exists(): return {'figures': 0, 'widgets': False}
    nb = json.loads(f.read_text())
    outs = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])]
    return {'figures': sum(any(k in o.get('data', {}) for k in FIGURES) for o in outs),
            'widgets': bool(nb['metadata'].get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {}).get('state'))}

def ids(page:Path) -> set:
    "The anchors a page offers: its `id` and `name` attributes."
    return set(re.findall(r'\s(?:id|name)="([^"]+)"', page.read_text()))

def bad_links(links:list, page:str, folder:Path) -> tuple:
    "Links of `page` that do not resolve inside the site, and the number of links to other sites (not followed)."
    bad, external = [], 0
    for href in links:
        u = urllib.parse.urlsplit(href)
        if u.scheme or href.startswith('//'): external += u.scheme in ('http', 'https') or href.startswith('//'); continue
        target = folder/urllib.parse.unquote(u.path) if u.path else folder/page
        if not target.is_file(): bad.append(href); continue
        if u.fragment and urllib.parse.unquote(u.fragment) not in ids(target) and u.fragment not in ids(target):
            bad.append(href)
    return bad, external

def check_page(driver, server:Server, page:str, folder:Path) -> list:
    "What is wrong with one page as the browser shows it (empty when nothing is)."
    with urllib.request.urlopen(server.url(page), timeout=30) as r:
        if r.status != 200 or not r.read(): return [f"HTTP {r.status}, an empty page" if r.status == 200 else f"HTTP {r.status}"]
    driver.get(server.url(page))
    end = time.monotonic() + 30
    while (state := driver.execute_script(PAGE_STATE))['ready'] != 'complete' and time.monotonic() < end: time.sleep(0.2)
    found = [] if state['ready'] == 'complete' else [f"not loaded after 30 s ({state['ready']})"]
    if not state['title'].strip(): found.append("no title")
    if state['failed']: found.append("the execution failed (banner)")
    found += [f"a traceback in an output: {t[:200]!r}" for t in state['errors']]
    found += [f"an error in stderr: {m[0].strip()[:200]!r}" for t in state['stderr'] for m in [ERROR_LINE.search(t)] if m]
    name = Path(page).stem
    if name != 'index':
        want = expected(name)
        if state['imgs'] < want['figures']: found.append(f"{state['imgs']} figures in the page, the notebook has {want['figures']}")
        if state['broken']: found.append(f"{state['broken']} figures the browser cannot decode")
        if want['widgets'] and not state['widgets']: found.append("the widgets' saved state is not in the page")
    bad, external = bad_links(state['links'], page, folder)
    found += [f"link does not resolve: {h}" for h in bad]
    print(f"      {page}: {state['imgs']} figures, {state['tables']} tables, {state['widgets']} widget states, "
          f"{len(state['links'])} links ({external} to other sites, not followed)", flush=True)
    return found

def check(folder:Path=DOCS, shots:Path=SHOTS) -> dict:
    "`{page: passed}` for the index and every lesson page of the site in `folder`."
    pages = ['index.html'] + sorted(p.name for p in folder.glob('[0-9]*.html'))
    results, t0 = {}, time.perf_counter()
    driver = browser('--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1')
    try:
        with Server(folder) as server:
            for page in pages:
                try: found = check_page(driver, server, page, folder)
                except Exception as e: found = [f"{type(e).__name__}: {e}"]
                results[page] = not found
                print(f"{'PASS' if not found else 'FAIL'}  site       {page:<40}", flush=True)
                for f in found: print(f"      {f}", flush=True)
            shots.mkdir(parents=True, exist_ok=True)
            lesson = next((p for p in pages[1:] if expected(Path(p).stem)['widgets']), pages[-1])   # one with widgets
            for shot, page in (('site-index', 'index.html'), (f'site-{Path(lesson).stem}', lesson)):
                driver.get(server.url(page)); time.sleep(0.5); driver.save_screenshot(str(shots/f'{shot}.png'))
    finally: driver.quit()
    print(f"site check: {time.perf_counter() - t0:.1f} s; screenshots in {shots}", flush=True)
    return results

def build_and_check() -> dict:
    "Build the site from `_executed/`, then check it: `{page: passed}` (`{'site build': False}` when it cannot be built)."
    t = time.perf_counter()
    try: failed = build()
    except SiteError as e: print(f"FAIL  site build: {e}", flush=True); return {'site build': False}
    print(f"site build: {time.perf_counter() - t:.1f} s, {len(list(DOCS.glob('*.html')))} pages in "
          f"{DOCS.relative_to(ROOT)}/" + (f"; failed executions: {', '.join(failed)}" if failed else ''), flush=True)
    return check()

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--docs', default=str(DOCS), help=f'the site folder (default {DOCS.relative_to(ROOT)})')
    a = p.parse_args(argv)
    results = check(Path(a.docs))
    print(f"{sum(results.values())} passed, {len(results) - sum(results.values())} failed")
    return 0 if all(results.values()) else 1

if __name__ == '__main__': sys.exit(main())
