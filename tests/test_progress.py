"""Progress bars: shown when asked (or on a terminal), silent in logs, pipes and with --quiet."""

from learndyn.progress import showing, track


def test_bar_shown_when_asked_and_items_unchanged(capsys):
    with showing(True):
        items = list(track(range(4), "demo stage"))
    assert items == [0, 1, 2, 3]
    err = capsys.readouterr().err
    assert "demo stage" in err and "/4" in err  # the bar (cleared at the end: leave=False)


def test_silent_off_a_terminal_and_when_quiet(capsys):
    assert list(track(range(3), "auto stage")) == [0, 1, 2]  # captured stderr is not a terminal
    with showing(False):
        assert list(track(iter(range(3)), "quiet stage", total=3)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
