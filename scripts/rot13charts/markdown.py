"""Markdown pieces every report shares: a safe table cell and a table."""


def md(text):
    """A value made safe for a Markdown table cell."""
    if text is None:
        return "n/a"
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "n/a"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
