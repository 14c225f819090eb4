"""Render the lessons, executed, as a static website in `_docs/` (settings.ini's `doc_path`): `python tools/build_site.py`.

Each lesson page is rendered (nbconvert's lab template) from the executed notebook that the tests keep in `_executed/`
(`tools/run_notebooks.py`, `tools/jupyterlab_test.py`). A lesson with none kept, or kept from a failed run or an older
version of the notebook, is executed first, as the tests do: at tiny size on a CPU; on a GPU at full size, its `gpu` and
`slow` cells included (`--size` chooses). The pages:

- `index.html`: the lesson table of `nbs/lessons.md` (`tools/lesson_index.py`: what each lesson teaches, its data at each
  size), with the times measured when the pages were executed;
- one page per lesson with its outputs (figures, training tables, widgets as they were saved), links to the previous and
  next lesson and the index, and the size, device and library versions it was executed with.

Math is rendered as MathML and widgets as static HTML, so the pages load nothing from elsewhere: serve the folder as it
is (`python -m http.server -d _docs`, or GitHub Pages). `tools/site_test.py` checks the pages in headless Chromium."""
import argparse, logging, os, shutil, sys, tempfile
from html import escape
from pathlib import Path

import nbformat
from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_notebooks import KEPT, ROOT, run_pass, select, source_sha  # noqa: E402

DOCS = ROOT/'_docs'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'

class MathMLRenderer(IPythonRenderer):
    "Markdown with its math as MathML, which browsers render themselves (no MathJax to load)."
    def inline_math(self, body:str) -> str: return convert(body)
    def block_math(self, body:str) -> str: return convert(body, display='block')
    def latex_environment(self, name:str, body:str) -> str: return convert(f'\\begin{{{name}}}{body}\\end{{{name}}}', display='block')

def widget_html(model_id:str, state:dict) -> str:
    "Static HTML for the widget `model_id` as saved in `state` (a notebook's widget state): what the page showed, inert."
    model = state.get(model_id.removeprefix('IPY_MODEL_'))
    if model is None: return ''
    name, s = model['model_name'], model['state']
    kids = ''.join(widget_html(c, state) for c in s.get('children', []))
    if name in ('HBoxModel', 'VBoxModel', 'BoxModel', 'GridBoxModel'):
        return f'<div class="widget-{"hbox" if name == "HBoxModel" else "vbox"}">{kids}</div>'
    if name == 'ButtonModel': return f'<button class="widget-button" disabled>{escape(s.get("description", ""))}</button>'
    if name in ('LabelModel', 'TextModel'): return f'<span class="widget-label">{escape(str(s.get("value", "")))}</span>'
    if name == 'HTMLModel': return f'<div class="widget-html">{s.get("value", "")}</div>'
    if name == 'DropdownModel':
        labels, index = s.get('_options_labels', []), s.get('index')
        return '<select disabled>' + ''.join(f'<option{" selected" if i == index else ""}>{escape(l)}</option>'
                                            for i, l in enumerate(labels)) + '</select>'
    if name == 'ImageModel':
        data = next((b['data'] for b in model.get('buffers', []) if b.get('path') == ['value']), '')
        size = ''.join(f' {k}="{escape(str(s[k]))}"' for k in ('width', 'height') if s.get(k))
        return f'<img class="widget-image" alt=""{size} src="data:image/{s.get("format", "png")};base64,{data}">'
    return f'<span class="widget-label">({escape(name.removesuffix("Model"))})</span>'

class LessonExporter(HTMLExporter):
    "nbconvert's HTML exporter with the site's template (tools/site_template), math as MathML and widgets as static HTML."
    def __init__(self, **kw):
        super().__init__(extra_template_basedirs=[str(ROOT/'tools')], template_name='site_template', embed_images=True, **kw)
        self.log.setLevel(logging.ERROR)   # not a warning per figure without alt text
        self.widget_state = {}

    @pass_context
    def markdown2html(self, context, source:str) -> str:
        cell = context.get('cell', {})
        renderer = MathMLRenderer(escape=False, attachments=cell.get('attachments', {}), embed_images=self.embed_images,
                                  path=context.get('resources', {}).get('metadata', {}).get('path', ''),
                                  anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links)
        return MarkdownWithMath(renderer=renderer).render(source)

    def static_widget(self, output) -> str:
        return widget_html(output['data']['application/vnd.jupyter.widget-view+json']['model_id'], self.widget_state)

    def default_filters(self):
        yield from super().default_filters()
        yield ('markdown2html', self.markdown2html)
        yield ('static_widget', self.static_widget)

    def page(self, nb, title:str, site:dict) -> str:
        "The HTML page of `nb`, titled `title`, with `site`'s links and run info."
        self.widget_state = nb.metadata.get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
        return self.from_notebook_node(nb, resources={'metadata': {'name': title, 'path': str(ROOT/'nbs')}, 'site': site})[0]

def run_info(meta:dict) -> str:
    "How a page was executed, in a sentence: size, device, when, how long, by what, with which versions."
    versions = ', '.join(f'{k} {v}' for k, v in meta['versions'].items())
    return (f"Executed at size <b>{meta['size']}</b> on {escape(meta['device'])}, {meta['date']}, in {meta['seconds']:.0f} s "
            f"by {escape(meta['executed_by'])}; {escape(versions)}.")

def fresh(nb:Path):
    "The kept execution of the lesson `nb` if it passed and ran the notebook as it is now, else None."
    kept = KEPT/nb.name
    if not kept.exists(): return None
    executed = nbformat.read(kept, as_version=4)
    meta = executed.metadata.get('course_lib', {})
    return executed if meta.get('passed') and meta.get('source_sha256') == source_sha(nb) else None

def execute_stale(nbs:list, size:str|None) -> list:
    "Run the lessons of `nbs` without a fresh execution as the tests do (on a GPU at full size, gpu cells included): failures."
    stale = [nb for nb in nbs if fresh(nb) is None]
    if not stale: return []
    import torch
    gpu = torch.cuda.is_available()
    env = dict(os.environ, COURSE_LIB_SIZE=size or os.environ.get('COURSE_LIB_SIZE') or ('full' if gpu else 'tiny'))
    print(f"executing {len(stale)} lessons without a fresh execution in {KEPT.relative_to(ROOT)}/", flush=True)
    return run_pass('execute', stale, env, 'gpu slow' if gpu else '', 1)

def index_page(exporter:LessonExporter, executed:dict) -> str:
    "The index: lesson_index's table and sections, each lesson linked to its page, with the times measured here."
    from course_lib.review import lesson_index
    metas = {name: nb.metadata['course_lib'] for name, nb in executed.items()}
    runtimes = {name: (m['seconds'], m['passed']) for name, m in metas.items()}
    sizes = sorted({m['size'] for m in metas.values()})
    note = (f"Each lesson below links to its page, executed at size {' and '.join(sizes) or '(none)'} with its outputs. "
            f"Runtime: as measured when the page was executed; what it ran on is on each page.")
    md = lesson_index(ROOT/'nbs', runtimes, note)
    for name in executed:
        md = md.replace(f'\n| {name} |', f'\n| [{name}]({name}.html) |').replace(f'\n## {name}:', f'\n## [{name}]({name}.html):')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(md)])
    return exporter.page(nb, 'course_lib: the lessons', dict(run_info=f"{len(executed)} lessons, rendered from their "
                                                                     f"executions by tools/build_site.py."))

def build(nbs:list, out:Path=DOCS) -> list:
    "Render the lessons of `nbs` that have a fresh execution, and the index, into `out` (replaced whole): the pages."
    executed = {nb.stem: e for nb in nbs if (e := fresh(nb)) is not None}
    exporter, names = LessonExporter(), list(executed)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{out.name}-', dir=out.parent))
    link = lambda name: name and dict(href=f'{name}.html', text=name)
    for i, (name, nb) in enumerate(executed.items()):
        site = dict(prev=link(names[i - 1] if i else None), next=link(names[i + 1] if i + 1 < len(names) else None),
                    run_info=run_info(nb.metadata['course_lib']))
        (tmp/f'{name}.html').write_text(exporter.page(nb, name, site))
    (tmp/'index.html').write_text(index_page(exporter, executed))
    (tmp/'.nojekyll').touch()   # GitHub Pages: serve the files as they are
    if out.exists(): shutil.rmtree(out)
    tmp.rename(out)
    return sorted(out.glob('*.html'))

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='lessons, or the start of their names (default: all)')
    p.add_argument('--out', default=str(DOCS), help=f'the site folder (default {DOCS.relative_to(ROOT)})')
    p.add_argument('--size', choices=('full', 'tiny'), help='COURSE_LIB_SIZE for lessons executed here (default: full '
                                                           'on a GPU, tiny on a CPU)')
    args = p.parse_args(argv)
    nbs = select(args.notebooks)
    failed = execute_stale(nbs, args.size)
    pages = build(nbs, Path(args.out).resolve())
    print(f"{len(pages)} pages in {args.out}" + (f"; not rendered, their execution failed: {', '.join(failed)}" if failed else ''))
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())
