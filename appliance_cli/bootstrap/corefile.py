"""A small Corefile parser/printer: CoreDNS upstreams are edited as data, never by regex.

A Corefile is a list of server blocks (``.:53 { ... }``) holding directives (a name, its
arguments, and optionally a nested block). ``set_upstreams`` replaces the arguments of the
``forward .`` directive of the root zone's server block and keeps everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance_cli.errors import ApplianceError


class CorefileError(ApplianceError):
    pass


@dataclass
class Directive:
    name: str
    args: list[str] = field(default_factory=list)
    block: list[Directive] | None = None


@dataclass
class ServerBlock:
    keys: list[str]
    directives: list[Directive]


def _tokens(text: str) -> list[str | None]:
    """Words, ``{``, ``}``, and ``None`` for a line end; comments dropped; quotes honoured."""
    out: list[str | None] = []
    for raw in text.splitlines():
        line, word, quote = raw, "", None
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == quote:
                    quote = None
                word += ch
            elif ch in "\"'":
                quote = ch
                word += ch
            elif ch == "#":
                break
            elif ch.isspace():
                if word:
                    out.append(word)
                    word = ""
            elif ch in "{}" and not word:
                out.append(ch)
            else:
                word += ch
            i += 1
        if word:
            if word.endswith("{"):
                out += [word[:-1], "{"]
            else:
                out.append(word)
        out.append(None)
    return out


def parse(text: str) -> list[ServerBlock]:
    toks = _tokens(text)
    pos = 0

    def skip_newlines() -> None:
        nonlocal pos
        while pos < len(toks) and toks[pos] is None:
            pos += 1

    def parse_block() -> list[Directive]:
        nonlocal pos
        items: list[Directive] = []
        while True:
            skip_newlines()
            if pos >= len(toks):
                raise CorefileError("Corefile: unclosed '{'")
            tok = toks[pos]
            if tok == "}":
                pos += 1
                return items
            words: list[str] = []
            nested: list[Directive] | None = None
            while pos < len(toks) and toks[pos] is not None:
                t = toks[pos]
                pos += 1
                if t == "{":
                    nested = parse_block()
                    break
                if t == "}":
                    pos -= 1
                    break
                assert t is not None
                words.append(t)
            if words:
                items.append(Directive(words[0], words[1:], nested))

    blocks: list[ServerBlock] = []
    while True:
        skip_newlines()
        if pos >= len(toks):
            return blocks
        keys: list[str] = []
        while pos < len(toks) and toks[pos] != "{":
            t = toks[pos]
            pos += 1
            if t is not None:
                keys.append(t)
        if pos >= len(toks):
            raise CorefileError(f"Corefile: server block {' '.join(keys)} has no '{{'")
        pos += 1
        blocks.append(ServerBlock(keys, parse_block()))


def _render_directives(items: list[Directive], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for d in items:
        head = " ".join([d.name, *d.args])
        if d.block is None:
            lines.append(pad + head)
        else:
            lines.append(pad + head + " {")
            lines += _render_directives(d.block, indent + 4)
            lines.append(pad + "}")
    return lines


def render(blocks: list[ServerBlock]) -> str:
    lines: list[str] = []
    for b in blocks:
        lines.append(" ".join(b.keys) + " {")
        lines += _render_directives(b.directives, 4)
        lines.append("}")
    return "\n".join(lines) + "\n"


def _is_root(keys: list[str]) -> bool:
    return any(k in (".", ".:53") or k.startswith(".:") for k in keys)


def upstreams(text: str) -> list[str]:
    for block in parse(text):
        if _is_root(block.keys):
            for d in block.directives:
                if d.name == "forward" and d.args and d.args[0] == ".":
                    return d.args[1:]
    return []


def set_upstreams(text: str, servers: list[str]) -> str:
    """The Corefile with the root zone forwarding to ``servers``; unchanged text when already so."""
    blocks = parse(text)
    if upstreams(text) == servers:
        return text
    for block in blocks:
        if not _is_root(block.keys):
            continue
        for d in block.directives:
            if d.name == "forward" and d.args and d.args[0] == ".":
                d.args = [".", *servers]
                return render(blocks)
        block.directives.append(Directive("forward", [".", *servers]))
        return render(blocks)
    raise CorefileError("Corefile has no server block for the root zone '.'")
