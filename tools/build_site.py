"""Render the lessons, executed with their outputs, into a static site in `_docs/` (settings.ini's `doc_path`).

    python tools/build_site.py            # execute every lesson (tiny size on a CPU), then render _docs/
    python tools/build_site.py --gpu      # on a GPU: execute at full size, gpu and slow cells included, then render
    python tools/build_site.py --reuse    # render the executions in _executed/ as they are (the test command's)

Executions come from `tools/execute.py` (a Jupyter kernel per lesson, kept in `_executed/` with where and how each ran;
the test command's default and JupyterLab passes keep theirs there too). Each lesson becomes one page rendered by
nbconvert (JupyterLab's look; figures, training tables and the widgets' saved state in the page), with links to the
index and the lessons before and after, and a line saying at which size, on which device, with which library versions
and how long it ran. The index lists the lessons: what each teaches, its data at each size, its measured time. A lesson
whose execution is missing, or older than its notebook's sources, stops the build with what to run; a failed execution is
rendered with a banner and makes the build fail. Serve `_docs/` as it is (GitHub Pages: `.github/workflows/pages.yml`)."""
import argparse, html, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import EXECUTED, ROOT, sources_hash  # noqa: E402

DOCS = ROOT/'_docs'
SIZE_WORDS = {'tiny': 'tiny size (stand-in data and course_lib\'s own small pretrained weights, offline)',
              'full': 'full size (the real datasets and pretrained weights)'}
PASS_WORDS = {'default': 'a Jupyter kernel, course_lib choosing the threads', 'jupyterlab': 'Run All in JupyterLab',
              'gpu': 'a Jupyter kernel, gpu and slow cells included', 'kernel': 'a Jupyter kernel'}
STYLE = """<style>
.cl-bar{font:14px/1.5 system-ui,sans-serif;background:#f3f5f8;border-bottom:1px solid #d5dae1;padding:8px 16px;
 position:sticky;top:0;z-index:100}
.cl-bar a{margin-right:14px}.cl-stamp{color:#444;font-size:13px}.cl-failed{background:#fde2e1;color:#8a1c1c;padding:6px 16px}
</style>"""
INDEX_STYLE = """<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d5dae1;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f3f5f8}td.n{text-align:right;white-space:nowrap}code{background:#f3f5f8;padding:0 3px}
</style>"""

class SiteError(Exception): pass

def md(text:str) -> str:
    "Markdown (a lesson's summary, one line) as HTML."
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return markdown2html_mistune(text)

def where_line(s:dict) -> str:
    "At which size, on which device and with which library versions an execution ran, in words."
    v = s['versions']
    libs = ' · '.join(f"{k} {v[k]}" for k in ('python', 'torch', 'torchvision', 'course_lib') if k in v)
    return f"Executed at {SIZE_WORDS.get(s['size'], s['size'])} on {s['device']} · {libs}"

def stamp_line(s:dict) -> str:
    "Where, when and how an execution ran, in words."
    skipped = sorted(set(s.get('skipped', {}).values()))
    skips = f" · {len(s['skipped'])} cell(s) not run here ({', '.join(skipped)})" if skipped else ''
    return (f"{where_line(s)} · {s['executed'].replace('T', ' ').replace('+00:00', ' UTC')} · {s['seconds']:.0f} s "
            f"({PASS_WORDS.get(s['run_pass'], s['run_pass'])}){skips}")

def executions(names:list, source:Path) -> dict:
    "`{name: executed notebook}` for every lesson in `names`; SiteError naming the missing and the out-of-date ones."
    import nbformat
    out, missing, stale = {}, [], []
    for name in names:
        f = source/f'{name}.ipynb'
        if not f.exists(): missing.append(name); continue
        nb = nbformat.read(f, as_version=4)
        if nb['metadata'].get('course_lib', {}).get('sources') != sources_hash(json.loads((ROOT/'nbs'/f.name).read_text())):
            stale.append(name)
        out[name] = nb
    if missing or stale:
        raise SiteError('; '.join(filter(None, [
            missing and f"no execution in {source} for {', '.join(missing)}",
            stale and f"nbs/ changed since {', '.join(stale)} {'was' if len(stale) == 1 else 'were'} executed"])) +
            ": run `python tools/build_site.py` (executes, then renders) or the test command first")
    return out

def lesson_page(nb:dict, info:dict, prev:dict, nxt:dict) -> str:
    "One lesson's HTML page: nbconvert's rendering with the site's bar (links, where it ran) on top."
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter(template_name='lab').from_notebook_node(nb)
    body = re.sub(r'href="(\d\d_\w+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m[1]}.html{m[2] or ""}"', body)
    s = nb['metadata']['course_lib']
    links = ['<a href="index.html">Lessons</a>',
             *([f'<a href="{prev["name"]}.html">← {html.escape(prev["name"])}</a>'] if prev else []),
             *([f'<a href="{nxt["name"]}.html">{html.escape(nxt["name"])} →</a>'] if nxt else [])]
    bar = (f'{STYLE}<div class="cl-bar" id="cl-bar">{"".join(links)}<strong>{html.escape(info["name"])}: '
           f'{html.escape(info["title"])}</strong><div class="cl-stamp">{html.escape(stamp_line(s))}</div></div>')
    if not s.get('ok', True):
        bar += '<div class="cl-failed">This execution stopped at an error (below): the lesson did not pass.</div>'
    body = re.sub(r'<title>[^<]*</title>', f'<title>{html.escape(info["name"])}: {html.escape(info["title"])}</title>', body, 1)
    return re.sub(r'(<body[^>]*>)', lambda m: m[1] + bar, body, 1)

def data_cell(info:dict, size:str) -> str:
    from course_lib.review import dataset_sizes
    if not info['datasets']: return 'no <code>untar_data</code> dataset (made or loaded in the notebook)'
    return '<br>'.join(f"<code>URLs.{d}</code>: {html.escape(dataset_sizes(d)[size])}" for d in info['datasets'])

def index_page(infos:list, nbs:dict) -> str:
    "The site's index: the lesson table (what each teaches, its data at each size, its measured time)."
    rows = []
    for i in infos:
        s = nbs[i['name']]['metadata']['course_lib']
        teaches = md(i['summary']) + (f"<small>{md(' · '.join(i['headings']))}</small>" if i['headings'] else '')
        rows.append(f'<tr><td><a href="{i["name"]}.html">{html.escape(i["name"])}</a><br>{html.escape(i["title"])}</td>'
                    f'<td>{teaches}</td><td>{data_cell(i, "tiny")}</td><td>{data_cell(i, "full")}</td>'
                    f'<td class="n">{s["seconds"]:.0f} s at {s["size"]}{"" if s.get("ok", True) else " (FAILED)"}</td></tr>')
    where = sorted({where_line(nbs[i['name']]['metadata']['course_lib']) for i in infos})
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>course_lib: the lessons</title>'
            f'{INDEX_STYLE}</head><body><h1>course_lib: the lessons</h1>'
            f'<p>The lessons of fast.ai\'s <em>Practical Deep Learning for Coders</em> (course v3, 2019), built from scratch '
            f'and checked: every page is a lesson notebook as it ran, with its outputs. Run them yourself: '
            f'<code>bash .ci/setup &amp;&amp; .venv/bin/jupyter lab nbs</code>.</p>'
            f'<p>{"<br>".join(html.escape(w) for w in where)}</p>'
            f'<table><thead><tr><th>lesson</th><th>what it teaches</th><th>data at tiny size</th><th>data at full size</th>'
            f'<th>time</th></tr></thead><tbody>{"".join(rows)}</tbody></table></body></html>')

def build(source:Path=EXECUTED, dest:Path=DOCS) -> list:
    "Render the executions in `source` into `dest` (replaced whole): the names of lessons whose execution failed."
    from course_lib.review import lesson_info, lessons
    infos = [lesson_info(nb) for nb in lessons(ROOT/'nbs')]
    nbs = executions([i['name'] for i in infos], source)
    tmp = Path(tempfile.mkdtemp(prefix='.site-', dir=dest.parent))
    try:
        for k, i in enumerate(infos):
            page = lesson_page(nbs[i['name']], i, infos[k-1] if k else None, infos[k+1] if k+1 < len(infos) else None)
            (tmp/f"{i['name']}.html").write_text(page)
        (tmp/'index.html').write_text(index_page(infos, nbs))
        (tmp/'.nojekyll').write_text('')
        if dest.exists(): shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    return [i['name'] for i in infos if not nbs[i['name']]['metadata']['course_lib'].get('ok', True)]

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--reuse', action='store_true', help='render _executed/ as it is, executing nothing')
    p.add_argument('--gpu', action='store_true', help='execute at full size with the gpu and slow cells (needs CUDA)')
    a = p.parse_args(argv)
    if not a.reuse:
        import run_notebooks
        run_notebooks.main(['--gpu'] if a.gpu else ['--passes', 'default'])
    t = time.perf_counter()
    try: failed = build()
    except SiteError as e: print(f"build_site: {e}", file=sys.stderr); return 1
    print(f"site: {DOCS.relative_to(ROOT)}/ with {len(list(DOCS.glob('*.html')))} pages in {time.perf_counter() - t:.1f} s"
          + (f"; executions that failed: {', '.join(failed)}" if failed else ''))
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
