"""The commands' progress bar: drawn on a terminal only, to stderr, ending on a newline."""

import io

from core.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_draws_on_a_terminal():
    out = Terminal()
    with Progress(4, label="import x", stream=out, min_interval=0) as bar:
        bar.advance(1)
        bar.advance(3)
    text = out.getvalue()
    assert "import x [#######" in text and "1/4" in text and "4/4" in text
    assert text.endswith("\n") and "#" * Progress.WIDTH in text


def test_it_is_quiet_in_a_log_file():
    out = io.StringIO()
    with Progress(10, stream=out) as bar:
        bar.advance(10)
    assert out.getvalue() == ""


def test_without_a_total_it_counts():
    bar = Progress(None, label="rows", stream=Terminal())
    bar.advance(7)
    assert bar.render().startswith("\rrows 7 (")


def test_it_is_not_styled_as_an_error_by_a_commands_stderr():
    # Django styles a command's stderr as ERROR (bold red) on a terminal; progress is not an error.
    from django.core.management.base import OutputWrapper
    from django.core.management.color import color_style

    out = Terminal()
    stderr = OutputWrapper(out)
    stderr.style_func = color_style(force_color=True).ERROR
    with Progress(2, label="import x", stream=stderr, min_interval=0) as bar:
        bar.advance(2)
    assert "\x1b[" not in out.getvalue() and "import x [" in out.getvalue()


def test_a_note_is_plain_text_on_the_stream_under_the_wrapper():
    from django.core.management.base import OutputWrapper
    from django.core.management.color import color_style

    from core.progress import note

    out = Terminal()
    stderr = OutputWrapper(out)
    stderr.style_func = color_style(force_color=True).ERROR
    note(stderr, "Exported 3 rows.")
    assert out.getvalue() == "Exported 3 rows.\n"
