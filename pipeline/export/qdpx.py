"""REFI-QDA exports (QDA-XML 1.0): a whole project (.qdpx) and a codebook alone (.qdc).

A .qdpx is a zip of ``project.qde`` and the transcripts' plain text under ``Sources/``.
PlainTextSelection positions count characters (code points) in that plain text, which is the
decoded source text the run's segment offsets index, so every selection cuts out exactly its
segment.
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from .. import __version__
from . import FIXED_TIME
from .model import CodedRun, ExportCode, check_offsets, guid, read_sources

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = f"themes {__version__}"
# Characters XML 1.0 cannot hold at all, even escaped.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    return NOT_XML.sub(" ", value)


class _Xml:
    """Element factory for one namespace."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def __call__(self, tag: str, parent=None, text: str | None = None, **attrs) -> etree._Element:
        name = f"{{{self.ns}}}{tag}"
        values = {k: xml_text(str(v)) for k, v in attrs.items() if v is not None}
        element = etree.Element(name, values, nsmap={None: self.ns}) if parent is None \
            else etree.SubElement(parent, name, values)
        if text is not None:
            element.text = xml_text(text)
        return element


def _code(make: _Xml, parent, coded: CodedRun, code: ExportCode, note_guids: dict[str, list[str]] | None) -> None:
    element = make("Code", parent, guid=code.guid, name=code.name, isCodable=str(code.codable).lower(),
                   color=code.colour)
    if code.definition:
        make("Description", element, text=code.definition)
    for note in (note_guids or {}).get(code.key, []):
        make("NoteRef", element, targetGUID=note)
    for child in code.children:
        _code(make, element, coded, coded.codes[child], note_guids)


def project_xml(coded: CodedRun, author: str) -> tuple[bytes, dict[str, str]]:
    """The project.qde document and the plain text files it points to ({zip path: text})."""
    make = _Xml(PROJECT_NS)
    user = guid("user", author)
    project = make("Project", name=f"themes: {coded.run.name}", origin=ORIGIN, creatingUserGUID=user,
                   modifyingUserGUID=user)
    users = make("Users", project)
    make("User", users, guid=user, name=author)

    note_guids: dict[str, list[str]] = {}
    for memo in coded.memos:
        if memo.code is not None:
            note_guids.setdefault(memo.code, []).append(memo.guid)

    codes = make("Codes", make("CodeBook", project))
    for key in coded.roots:
        _code(make, codes, coded, coded.codes[key], note_guids)

    files: dict[str, str] = {}
    by_source: dict[str, list] = {}
    for coding in coded.codings:
        by_source.setdefault(coding.segment.source, []).append(coding)
    private = coded.run.config.privacy.pseudonymise
    sources_element = make("Sources", project)
    for source in read_sources(coded.run):
        transcript = source.transcript
        files[f"Sources/{source.guid}.txt"] = transcript.text
        text_source = make("TextSource", sources_element, guid=source.guid, name=transcript.source,
                           plainTextPath=f"internal://{source.guid}.txt", creatingUser=user)
        for coding in by_source.get(transcript.source, []):
            segment = coding.segment
            check_offsets(segment, transcript.text, transcript.path)
            code = coded.codes[coding.code]
            selection_guid = guid("selection", source.guid, segment.segment_id, code.guid)
            # A pseudonymised run's codes (U3) beside the embedded transcript, where the real label
            # stands before the speech, would make this file its own key: the role only.
            speaker = segment.role if private else f"{segment.speaker} ({segment.role})"
            selection = make("PlainTextSelection", text_source, guid=selection_guid,
                             name=segment.segment_id if private else f"{segment.speaker}: {segment.segment_id}",
                             startPosition=segment.start, endPosition=segment.end, creatingUser=user)
            status = "suggested, not reviewed" if coding.status == "suggested" else coding.status
            make("Description", selection, text=f"{speaker}; cluster {coding.cluster_id}, {status}")
            coding_element = make("Coding", selection, guid=guid("coding", selection_guid), creatingUser=user)
            make("CodeRef", coding_element, targetGUID=code.guid)

    if coded.memos:
        notes = make("Notes", project)
        for memo in coded.memos:
            note = make("Note", notes, guid=memo.guid, name=f"Memo on cluster {memo.cluster_id} ({memo.status})",
                        creatingUser=user)
            make("PlainTextContent", note, text=memo.text)
    make("Description", project, text=_description(coded))
    for memo in coded.memos:
        if memo.code is None:  # a memo on a cluster that is not coded belongs to the project
            make("NoteRef", project, targetGUID=memo.guid)
    return etree.tostring(project, xml_declaration=True, encoding="utf-8", pretty_print=True), files


def _description(coded: CodedRun) -> str:
    clusters = {c.cluster_id for c in coded.codings}
    suggested = sum(1 for c in coded.codings if c.status == "suggested")
    text = (f"Candidate themes from run '{coded.run.name}' ({ORIGIN}), taxonomy "
            f"{coded.run.taxonomy.id if coded.run.taxonomy else 'none'}: {len(coded.codings)} coded segments "
            f"in {len(clusters)} clusters.")
    if suggested:
        text += (f" {suggested} segments are coded with suggestions nobody has reviewed, under "
                 f"'Suggested, not reviewed'.")
    return text


def project_qdpx(coded: CodedRun, author: str) -> bytes:
    """The .qdpx archive: project.qde plus Sources/<guid>.txt (UTF-8) for each transcript."""
    document, files = project_xml(coded, author)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("project.qde", FIXED_TIME), document, zipfile.ZIP_DEFLATED)
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def codebook_qdc(coded: CodedRun) -> bytes:
    """A standalone QDA-XML codebook (.qdc) of the same code tree."""
    make = _Xml(CODEBOOK_NS)
    codebook = make("CodeBook", origin=ORIGIN)
    codes = make("Codes", codebook)
    for key in coded.roots:
        _code(make, codes, coded, coded.codes[key], None)
    return etree.tostring(codebook, xml_declaration=True, encoding="utf-8", pretty_print=True)
