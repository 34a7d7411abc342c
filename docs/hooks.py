"""MkDocs hook: the model cards' images live in the package (src/facemotion/weights/*.png), not under docs/.

Pages link them as ``../src/facemotion/weights/NAME.png``, which is right on a code host viewing docs/ in the
repository. MkDocs only serves files under docs_dir, so this hook adds those PNGs to the site as
``images/weights/NAME.png`` and rewrites the links to them: one copy of each image in the repository, none copied
into docs/, and link validation still sees every image. Not part of the package.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

_WEIGHTS = Path(__file__).resolve().parent.parent / "src" / "facemotion" / "weights"
_LINK = re.compile(r"\]\((?:\.\./)+src/facemotion/weights/([\w.-]+\.png)\)")


def on_files(files, config):
    for png in sorted(_WEIGHTS.glob("*.png")):
        files.append(File.generated(config, f"images/weights/{png.name}", abs_src_path=str(png)))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")
    prefix = "../" * depth
    return _LINK.sub(lambda m: f"]({prefix}images/weights/{m.group(1)})", markdown)
