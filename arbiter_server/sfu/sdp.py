"""SDP text the SFU reads or writes beside aiortc's own SDP handling.

aiortc 1.16 drops ``a=rid`` and ``a=simulcast`` when it parses an offer and never writes
them in an answer; browsers then send only their first simulcast encoding. The SFU reads
the offered layers itself (:func:`offered_simulcast`) and adds the receive side to the
answer text it sends back (:func:`answer_simulcast`): ``a=rid:<id> recv`` for each layer
and ``a=simulcast:recv <ids>``. Also here: the SSRCs an offer announces per media section,
and :func:`compact_bundle`, which keeps a consumer offer with many sections within
``MAX_SDP``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "MediaSsrcs",
    "answer_extension",
    "answer_simulcast",
    "compact_bundle",
    "media_ssrcs",
    "offered_extension",
    "offered_simulcast",
]


def _sections(sdp: str) -> list[list[str]]:
    """The SDP's lines split into the session part and one list per media section."""
    parts: list[list[str]] = [[]]
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            parts.append([])
        parts[-1].append(line)
    return parts


def _mid(section: list[str]) -> str | None:
    return next((line[6:].strip() for line in section if line.startswith("a=mid:")), None)


def offered_simulcast(sdp: str) -> dict[str, list[str]]:
    """Simulcast layers offered per media section: mid -> rids in ``a=simulcast`` order.

    Only sections that send simulcast (``a=simulcast:send``) with every listed rid
    declared as ``a=rid:<id> send``; a paused rid (``~id``) counts, alternatives
    (``a,b``) count by their first id. The order is the offer's, which Arbiter's clients
    make lowest quality first.
    """
    found: dict[str, list[str]] = {}
    for section in _sections(sdp)[1:]:
        mid = _mid(section)
        if mid is None:
            continue
        declared = set()
        listed: list[str] = []
        for line in section:
            if line.startswith("a=rid:"):
                parts = line[6:].split()
                if len(parts) >= 2 and parts[1] == "send":
                    declared.add(parts[0])
            elif line.startswith("a=simulcast:"):
                words = line[len("a=simulcast:") :].split()
                if len(words) >= 2 and words[0] == "send":
                    for item in words[1].split(";"):
                        rid = item.split(",")[0].lstrip("~")
                        if rid:
                            listed.append(rid)
        rids = [r for r in dict.fromkeys(listed) if r in declared]
        if len(rids) > 1:
            found[mid] = rids
    return found


def answer_simulcast(answer: str, layers: dict[str, list[str]]) -> str:
    """``answer`` with the receive side of the offered simulcast added per section."""
    if not layers:
        return answer
    out: list[str] = []
    crlf = "\r\n" in answer
    for index, section in enumerate(_sections(answer)):
        mid = _mid(section) if index else None
        rids = layers.get(mid or "") if mid is not None else None
        lines = [line for line in section if line]
        if rids:
            lines += [f"a=rid:{rid} recv" for rid in rids]
            lines.append("a=simulcast:recv " + ";".join(rids))
        out += lines
    sep = "\r\n" if crlf else "\n"
    return sep.join(out) + sep


def offered_extension(sdp: str, uri: str) -> int | None:
    """The id an offer gives header extension ``uri`` (BUNDLE: one id in every section)."""
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("a=extmap:"):
            parts = line[len("a=extmap:") :].split()
            if len(parts) >= 2 and parts[1] == uri:
                ident = parts[0].split("/")[0]
                if ident.isdigit():
                    return int(ident)
    return None


def answer_extension(answer: str, uri: str, ident: int, feedback: str | None = None) -> str:
    """``answer`` accepting header extension ``uri`` with ``ident`` in every audio and video
    section, and, with ``feedback``, that RTCP feedback (``a=rtcp-fb``) for each of the
    section's payload types."""
    out: list[str] = []
    crlf = "\r\n" in answer
    for index, section in enumerate(_sections(answer)):
        lines = [line for line in section if line]
        media = lines[0].split() if index and lines else []
        if len(media) > 3 and media[0] in ("m=audio", "m=video") and media[1] != "0":
            if not any(line.startswith("a=extmap:") and uri in line for line in lines):
                lines.append(f"a=extmap:{ident} {uri}")
            if feedback:
                lines += [f"a=rtcp-fb:{pt} {feedback}" for pt in media[3:] if pt.isdigit()]
        out += lines
    sep = "\r\n" if crlf else "\n"
    return sep.join(out) + sep


@dataclass
class MediaSsrcs:
    """SSRCs announced for one media section (``a=ssrc`` and ``a=ssrc-group:FID``)."""

    media: list[int] = field(default_factory=list)
    "Primary SSRCs, in order."
    rtx: dict[int, int] = field(default_factory=dict)
    "RTX SSRC -> the primary SSRC it repairs."


def media_ssrcs(sdp: str) -> dict[str, MediaSsrcs]:
    """The SSRCs each media section (by mid) announces."""
    out: dict[str, MediaSsrcs] = {}
    for section in _sections(sdp)[1:]:
        mid = _mid(section)
        if mid is None:
            continue
        info = MediaSsrcs()
        seen: list[int] = []
        for line in section:
            if line.startswith("a=ssrc-group:FID "):
                items = [int(x) for x in line.split()[1:] if x.isdigit()]
                if len(items) == 2:
                    info.rtx[items[1]] = items[0]
            elif line.startswith("a=ssrc:"):
                value = line[7:].split(" ", 1)[0]
                if value.isdigit() and int(value) not in seen:
                    seen.append(int(value))
        info.media = [s for s in seen if s not in info.rtx]
        out[mid] = info
    return out


_SHARED = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:")
"Transport attributes that are the same in every section of one BUNDLE group."


def compact_bundle(sdp: str) -> str:
    """``sdp`` with its bundled sections' shared transport attributes said once.

    aiortc repeats the ICE credentials, three DTLS fingerprints and ``a=setup`` in every
    media section, ~480 of its ~1,300 bytes: a consumer offer with 30 sections would not
    fit ``MAX_SDP``. When every section is in one BUNDLE group and they all carry the
    same credentials, fingerprints and setup, these move to the session level, where
    RFC 8866 lets them apply to every section and browsers and aiortc read them (only the
    first, sha-256, fingerprint: Chrome refuses several at one level). The candidates stay
    in every section: aiortc, as answerer with one bundled transport, adds only the last
    section's. Any other SDP is returned unchanged.
    """
    parts = _sections(sdp)
    session, media = parts[0], parts[1:]
    group = next((line for line in session if line.startswith("a=group:BUNDLE ")), None)
    if group is None or len(media) < 2:
        return sdp
    mids = group.split()[1:]
    if not mids or any(_mid(section) not in mids for section in media):
        return sdp  # a section outside the group keeps its own transport
    shared = [[line for line in section if line.startswith(_SHARED)] for section in media]
    if not shared[0] or any(lines != shared[0] for lines in shared[1:]):
        return sdp
    out = [line for line in session if line]
    # one fingerprint: Chrome refuses several at the session level (aiortc lists sha-256,
    # -384 and -512 of the same certificate; every DTLS stack checks the sha-256 one)
    fingerprints = [line for line in shared[0] if line.startswith("a=fingerprint:")]
    out += [line for line in shared[0] if not line.startswith("a=fingerprint:")]
    out += fingerprints[:1]
    for section in media:
        out += [line for line in section if line and not line.startswith(_SHARED)]
    return "\r\n".join(out) + "\r\n"
