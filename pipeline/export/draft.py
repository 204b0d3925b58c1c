"""A Results-section draft (Markdown or Word): theme -> group -> code, each with its
definition, counts by speaker role and two or three representative quotes attributed the way
qualitative papers do, “the quote” (User 1).

Only what the analyst accepted is drafted; with suggestions included, those come last under
their own heading, marked as not reviewed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from ..segment import word_count
from ..words import plural
from .model import CodedRun, Coding, respondent
from .tables import code_counts, md_escape, md_escape_lines

QUOTES_PER_CODE = 3
# Quotes a reader takes in at a glance; longer or shorter ones are used only when nothing else is left.
QUOTE_MAX_CHARS = 400
QUOTE_MIN_WORDS = 5


@dataclass(frozen=True)
class Block:
    """One piece of the draft. kind: title | heading | paragraph | quote | note."""

    kind: str
    text: str
    level: int = 0
    speaker: str = ""


def attribution(speaker: str) -> str:
    return f"({speaker.strip() or 'unnamed speaker'})"


def pick_quotes(coded: CodedRun, codings: list[Coding], limit: int = QUOTES_PER_CODE) -> list[Coding]:
    """Up to ``limit`` quotes for a code: each cluster's representatives (best first) taken in
    turn, largest cluster first, from different speakers (labels; each row without a label is a
    respondent of its own) where possible, of a readable length where possible."""
    by_cluster: dict[int, dict[str, Coding]] = {}
    for coding in codings:
        by_cluster.setdefault(coding.cluster_id, {})[coding.segment.segment_id] = coding
    queues = []
    for cluster_id, members in sorted(by_cluster.items(), key=lambda item: (-len(item[1]), item[0])):
        representatives = coded.run.clusters[cluster_id].get("segment_ids", [])
        queues.append([members[sid] for sid in representatives if sid in members])
    candidates = []
    for rank in range(max((len(q) for q in queues), default=0)):
        candidates.extend(q[rank] for q in queues if rank < len(q))

    language = coded.run.config.segmentation.language

    def readable(c: Coding) -> bool:
        text = c.segment.text
        return not c.segment.backchannel and len(text) <= QUOTE_MAX_CHARS \
            and word_count(text, language) >= QUOTE_MIN_WORDS

    # Readable quotes from different speakers first; a short quote, or a second one from the
    # same speaker, only to reach two.
    passes = ((readable, True, limit), (readable, False, 2), (lambda c: True, True, 2), (lambda c: True, False, 2))
    def who(c: Coding):  # as a reader tells quotes apart: by the label the quote is attributed to
        return c.segment.speaker if c.segment.speaker.strip() else respondent(c.segment)

    chosen: list[Coding] = []
    for wanted, distinct, upto in passes:
        for candidate in candidates:
            speakers = {who(c) for c in chosen}
            if len(chosen) < min(upto, limit) and candidate not in chosen and wanted(candidate) \
                    and not (distinct and who(candidate) in speakers):
                chosen.append(candidate)
    return chosen


def _counts_line(coded: CodedRun, codings: list[Coding]) -> str:
    counts = code_counts(codings, coded.roles)
    roles = ", ".join(f"{role} {n}" for role, n in sorted(counts["by_role"].items(), key=lambda x: (-x[1], x[0])) if n)
    return f"{plural(counts['segments'], 'segment')} in {plural(counts['sources'], 'transcript')} ({roles})."


def draft_blocks(coded: CodedRun) -> list[Block]:
    run = coded.run
    reviewed = [c for c in coded.codings if c.status != "suggested"]
    suggested = len(coded.codings) - len(reviewed)
    taxonomy = f"taxonomy {run.taxonomy.id}" if run.taxonomy else "no taxonomy"
    accepted = (f"{plural(len(reviewed), 'segment')} in {plural(len({c.cluster_id for c in reviewed}), 'cluster')} "
                f"the analyst accepted" if reviewed else "no cluster accepted yet")
    intro = (f"Drafted from run '{run.name}' ({taxonomy}): {accepted}. Counts are segments (utterances) by "
             f"speaker role; quotes are verbatim segments, among the most representative of their cluster. "
             f"Check each quote in its context before use.")
    if suggested:
        intro += (f" The last section holds {suggested} segments coded only by suggestion: "
                  f"suggested, not reviewed.")
    blocks = [Block("title", "Results (draft)"), Block("paragraph", intro)]

    def visit(key: str, depth: int) -> None:
        code = coded.codes[key]
        codings = coded.codings_of(key)
        if not codings:
            return
        is_code = not code.children
        blocks.append(Block("heading", code.name, level=depth + 1))
        if code.origin == "suggested" and is_code:
            within = _taxonomy_path(coded, key)
            blocks.append(Block("note", "Suggested, not reviewed" + (f"; in the taxonomy under {within}." if within
                                                                     else ".")))
        if code.definition and (is_code or depth == 0):
            blocks.append(Block("paragraph", code.definition))
        if is_code:
            blocks.append(Block("paragraph", _counts_line(coded, codings)))
            for quote in pick_quotes(coded, codings):
                # A survey row or a listed quote has no speaker label: it is attributed to its role.
                blocks.append(Block("quote", quote.segment.text,
                                    speaker=quote.segment.speaker.strip() or quote.segment.role))
            for memo in coded.memos:
                if memo.code == key:
                    blocks.append(Block("note", f"Analyst's memo (cluster {memo.cluster_id}): {memo.text}"))
        for child in code.children:
            visit(child, depth + 1)

    for root in coded.roots:
        visit(root, 0)
    return blocks


def _taxonomy_path(coded: CodedRun, key: str) -> str:
    """Where a suggested code sits in the taxonomy: its ancestors' labels, theme first."""
    code_id = key.split(":", 1)[1]
    taxonomy = coded.run.taxonomy
    if taxonomy is None or code_id not in taxonomy.codes:
        return ""
    return " › ".join(a.label for a in taxonomy.ancestors(code_id))


def quote_line(block: Block) -> str:
    return f"“{block.text}” {attribution(block.speaker)}"


def draft_md(coded: CodedRun) -> bytes:
    lines: list[str] = []
    for block in draft_blocks(coded):
        if block.kind == "title":
            lines.append(f"# {md_escape(block.text)}")
        elif block.kind == "heading":
            lines.append(f"{'#' * min(block.level + 1, 6)} {md_escape(block.text)}")
        elif block.kind == "quote":
            lines.append(f"> {md_escape(quote_line(block))}")
        elif block.kind == "note":  # a memo keeps its line breaks, as in the docx and the project
            lines.append(f"*{md_escape_lines(block.text)}*")
        else:
            lines.append(md_escape_lines(block.text))
        lines.append("")
    return "\n".join(lines).rstrip("\n").encode("utf-8") + b"\n"


def draft_docx(coded: CodedRun, author: str) -> bytes:
    from docx import Document

    from .qdpx import xml_text

    document = Document()
    document.core_properties.author = author
    document.core_properties.title = f"Results (draft): {coded.run.name}"
    for block in draft_blocks(coded):
        text = xml_text(block.text)
        if block.kind == "title":
            document.add_heading(text, level=0)
        elif block.kind == "heading":
            document.add_heading(text, level=min(block.level, 9))
        elif block.kind == "quote":
            document.add_paragraph(xml_text(quote_line(block)), style="Quote")
        elif block.kind == "note":
            document.add_paragraph().add_run(text).italic = True
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
