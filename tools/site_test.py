"""Check the lessons' website in headless Chromium: `python tools/site_test.py [folder]` (default `_docs/`).

Serves the folder on loopback and opens every page in the browser of `tools/jupyterlab_test.py` (where no name resolves
but loopback's, so a page that needs anything from elsewhere fails). Each page must load with no error in the console,
show no traceback, draw every image it has, and, for a lesson, show as many figures as its executed notebook in
`_executed/` holds (at least one). Every link must resolve: to a page of the site and, with a `#fragment`, to an element
of it; links to other sites are counted, not followed (offline). Screenshots of the index and the first lesson go to
`_screenshots/site/`. Prints a line per page and ends with `N passed, N failed`."""
import argparse, contextlib, functools, sys, threading, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyterlab_test import SHOTS, browser  # noqa: E402
from run_notebooks import KEPT, ROOT  # noqa: E402

FIGURE_TYPES = ('image/png', 'image/jpeg', 'image/svg+xml')
PAGE = """return {
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
  links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
  figures: document.querySelectorAll('.jp-OutputArea-output:not(.static-widget) img, .jp-OutputArea-output > svg').length,
  undrawn: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length,
  traceback: /Traceback \\(most recent call last\\)|[A-Za-z]+Error\\s+Traceback/.test(document.body.innerText),
  title: document.title};"""

@contextlib.contextmanager
def serve(folder:Path):
    "Serve `folder` over HTTP on loopback, on a free port, in a thread: yields the base URL."
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    server = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{server.server_address[1]}/'
    finally: server.shutdown(); server.server_close()

def figures_in(executed:Path) -> int:
    "How many figures the outputs of the executed notebook `executed` hold."
    nb = nbformat.read(executed, as_version=4)
    return sum(any(t in o.get('data', {}) for t in FIGURE_TYPES) for c in nb.cells for o in c.get('outputs', []))

def page_problems(page:dict, name:str, errors:list) -> list:
    "What is wrong with one page as the browser saw it (`page`: what PAGE returned), before its links are followed."
    found = [f"console: {e['message'][:300]}" for e in errors if e['level'] == 'SEVERE']
    if page['traceback']: found.append("a traceback is shown")
    if page['undrawn']: found.append(f"{page['undrawn']} images not drawn")
    if (KEPT/f'{name}.ipynb').exists():
        expected = figures_in(KEPT/f'{name}.ipynb')
        if page['figures'] != expected or not expected:
            found.append(f"{page['figures']} figures in the page, {expected} in its executed notebook")
    elif name != 'index': found.append(f"no executed notebook {KEPT.relative_to(ROOT)}/{name}.ipynb for this page")
    return found

def link_problems(links:list, base:str, seen:dict) -> tuple:
    "Links that do not resolve to a page in `seen` (`{file name: ids on it}`) and an element on it; and the external ones."
    broken, external = [], []
    for href in links:
        u = urlsplit(href)
        if not href.startswith(base): external.append(href); continue
        path = unquote(u.path[len(urlsplit(base).path):]) or 'index.html'
        if path not in seen: broken.append(f"link to {path}: no such page")
        elif u.fragment and not {u.fragment, unquote(u.fragment)} & seen[path]:   # as browsers look an id up
            broken.append(f"link to {path}#{u.fragment}: no such element")
    return broken, external

def check(folder:Path, shots:Path=SHOTS/'site') -> list:
    "Open every page of the site in `folder` and check it: the names of the pages that failed."
    pages = sorted(p.name for p in folder.glob('*.html'))
    if 'index.html' not in pages: return [f"site {folder}: no index.html"]
    shots.mkdir(parents=True, exist_ok=True)
    seen, results, external, t0 = {}, {}, set(), time.perf_counter()
    with serve(folder) as base:
        driver = browser()
        try:
            for i, name in enumerate(pages):
                driver.get(base + name)
                page = driver.execute_script(PAGE)
                seen[name] = set(page['ids'])
                results[name] = page, page_problems(page, Path(name).stem, driver.get_log('browser'))
                if name == 'index.html' or i == 0: driver.save_screenshot(str(shots/f'{Path(name).stem}.png'))
        finally: driver.quit()
    failed = []
    for name, (page, found) in results.items():
        broken, ext = link_problems(page['links'], base, seen)
        external.update(ext); found += broken
        print(f"{'PASS' if not found else 'FAIL'}  site       {name:<40} {page['figures']:3d} figures, "
              f"{len(page['links'])} links", flush=True)
        for f in found: print(f"      {f}", flush=True)
        if found: failed.append(f'site {name}')
    print(f"site check: {len(pages)} pages in {time.perf_counter() - t0:.1f} s; {len(external)} links to other sites "
          f"not followed (offline); screenshots in {shots}", flush=True)
    return failed

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('folder', nargs='?', default=str(ROOT/'_docs'), help='the site (default _docs)')
    args = p.parse_args(argv)
    folder = Path(args.folder)
    failed = check(folder)
    print(f"{len(list(folder.glob('*.html'))) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
