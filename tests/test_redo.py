"""Redo: `u` takes a change back, ctrl+r (`Library.redo_change`) takes that undo back.

Found by a newcomer: one `u` after writing a note put the pane back to "No note yet" and
nothing brought the text back (a second `u` undid an older change). The oracle here is the
text the test itself wrote, and, for two machines, the state each copy shows after the same
truth files are on both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.library import Library

from .test_app import build, toasts
from .test_sync_merge import act, fake_clock, open_as, sync, two_copies, view

NOTE = "A long careful note:\n- caching without retraining\n- compare with DeepCache"


def test_redo_brings_back_the_note_an_undo_took(sample_library: Library) -> None:
    lib = sample_library
    pid, other = sorted(lib)[:2]
    lib.set_state([other], "star", starred=True)
    lib.set_state([pid], "edit note", note=NOTE)
    assert lib.undo_change() is not None and lib.state(pid).note == ""
    redone = lib.redo_change()
    assert redone is not None and redone.ids == [pid]
    assert lib.state(pid).note == NOTE
    assert lib.redo_change() is None  # (nothing more to redo)
    # u again takes the note back (not the older star), redo brings it again
    assert lib.undo_change() is not None and lib.state(pid).note == ""
    assert lib.state(other).starred
    assert lib.redo_change() is not None and lib.state(pid).note == NOTE
    # two undos, two redos, in order
    lib.undo_change()
    lib.undo_change()
    assert not lib.state(other).starred and lib.state(pid).note == ""
    lib.redo_change()
    assert lib.state(other).starred and lib.state(pid).note == ""
    lib.redo_change()
    assert lib.state(pid).note == NOTE
    # a new change ends what can be redone
    lib.undo_change()
    lib.set_state([other], "read", read=True)
    assert lib.redo_change() is None and lib.state(pid).note == ""
    reopened = Library.open(lib.root)  # (the same state from the files)
    assert reopened.state(pid).note == "" and reopened.state(other).read


def test_an_undo_and_its_redo_reach_the_other_machine_in_any_order(tmp_path: Path) -> None:
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        pid = ids[0]
        act(clock, roots["laptop"], "laptop", "note", pid, note=NOTE)
        lap = open_as(roots["laptop"], "laptop")
        lap.undo_change()
        clock.tick()
        lap.redo_change()
        lap.close()
        act(clock, roots["desk"], "desk", "star", ids[1], starred=True)
        sync(roots["laptop"], roots["desk"])
        sync(roots["desk"], roots["laptop"])
        shown = {name: view(open_as(root, name)) for name, root in roots.items()}
    assert shown["laptop"] == shown["desk"]
    assert shown["desk"][pid]["note"] == NOTE and shown["desk"][ids[1]]["starred"]


async def test_ctrl_r_in_the_app_redoes_the_undone_note(
    sample_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.widgets import notes

    # One edit, saved by Esc: on a loaded machine Pilot's keys came more than the autosave's
    # second apart, "k" was saved on its own, and u took the note back to "k", not to "".
    monkeypatch.setattr(notes, "SAVE_DELAY", 30.0)
    monkeypatch.setattr(notes, "SAVE_MAX_WAIT", 60.0)
    app = build(sample_library, tmp_path)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause(0.2)
        pid = app.paper_list.current
        await pilot.press("e", *"kept words", "escape")
        await pilot.pause(0.2)
        assert sample_library.state(pid).note == "kept words"
        await pilot.press("u")
        await pilot.pause(0.2)
        assert sample_library.state(pid).note == ""
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)
        assert sample_library.state(pid).note == "kept words"
        assert app.paper_list.current == pid
        assert any(t.startswith("Redone: edit note on") for t in toasts(app)), toasts(app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)
        assert any(t == "Nothing to redo" for t in toasts(app))


def test_papertui_redo_on_the_command_line(sample_library: Library) -> None:
    from .test_cli import run

    db = sample_library.root
    pid = sorted(sample_library)[0]
    assert run("note", pid, "-m", NOTE, db=db).returncode == 0
    assert run("undo", db=db).stdout.startswith("undone: edit note on")
    assert Library.open(db).state(pid).note == ""
    redone = run("redo", db=db)
    assert redone.returncode == 0 and redone.stdout.startswith("redone: edit note on")
    assert "(undone by `papertui undo`" in redone.stdout  # (where the undo was made)
    assert Library.open(db).state(pid).note == NOTE
    assert run("redo", db=db).stdout.strip() == "nothing to redo"


@pytest.mark.parametrize("long", [False, True], ids=["short note", "long note (an edit)"])
def test_a_redo_after_the_note_changed_elsewhere_keeps_both_texts(
    sample_library: Library, long: bool
) -> None:
    """Found by an adversary: undo, another process edits the note, redo → "not undone:
    changed again since", and the redone text was out of the user's reach for good."""
    lib = sample_library
    pid = sorted(lib)[0]
    head = ("Background paragraph. " * 300 + "\n") if long else ""
    lib.set_state([pid], "edit note", note=head + "second")
    lib.set_state([pid], "edit note", note=head + "second APPTEXT")
    lib.undo_change()
    assert lib.state(pid).note == head + "second"
    other = Library.open(lib.root)
    other.set_state([pid], "edit note", note=head + "second\ncli appended line")
    other.close()
    lib.refresh()
    redone = lib.redo_change(own_first=True)  # (as the app's ctrl+r: this window's undo)
    assert redone is not None and redone.ids == [pid]
    note = lib.state(pid).note
    assert "APPTEXT" in note and "cli appended line" in note, note[-200:]
    assert Library.open(lib.root).state(pid).note == note  # (the same from the files)


def test_a_redo_synced_after_another_machine_edited_keeps_both_on_both(tmp_path: Path) -> None:
    """Found by an adversary: the redo was worked out again on each copy after the other
    machine's edit, kept nothing, and 'v2 laptop precious' was gone from both."""
    with fake_clock() as clock:
        roots, ids = two_copies(tmp_path)
        pid = ids[0]
        act(clock, roots["laptop"], "laptop", "note", pid, note="v1")
        act(clock, roots["laptop"], "laptop", "note", pid, note="v2 laptop precious")
        lap = open_as(roots["laptop"], "laptop")
        clock.tick()
        lap.undo_change()
        lap.close()
        sync(roots["laptop"], roots["desk"])
        sync(roots["desk"], roots["laptop"])
        act(clock, roots["desk"], "desk", "note", pid, note="v1 desk edit")
        lap = open_as(roots["laptop"], "laptop")
        clock.tick()
        assert lap.redo_change() is not None
        lap.close()
        sync(roots["laptop"], roots["desk"])
        sync(roots["desk"], roots["laptop"])
        notes = {name: open_as(root, name).state(pid).note for name, root in roots.items()}
    assert notes["laptop"] == notes["desk"]
    assert "v2 laptop precious" in notes["desk"] and "desk edit" in notes["desk"]


def test_undo_and_redo_of_tags_name_them_and_keep_their_order(sample_library: Library) -> None:
    """Found by an adversary: a redo said "redone: tag on …" without its tags, and undoing
    a tag's removal put the tag back at the end. The oracle is the order the test gave."""
    from .test_cli import run

    db = sample_library.root
    pid = sorted(sample_library)[0]
    assert run("tag", pid, "-a", "zeta, alpha, mid", db=db).returncode == 0
    assert run("tag", pid, "-r", "alpha", db=db).returncode == 0
    assert "tag -#alpha on" in run("undo", db=db).stdout
    assert Library.open(db).state(pid).tags == ["zeta", "alpha", "mid"]
    redone = run("redo", db=db).stdout
    assert redone.startswith("redone: tag -#alpha on"), redone
    assert Library.open(db).state(pid).tags == ["zeta", "mid"]
    run("undo", db=db)
    run("undo", db=db)
    assert Library.open(db).state(pid).tags == []
    assert run("redo", db=db).stdout.startswith("redone: tag #zeta #alpha #mid on")
    assert Library.open(db).state(pid).tags == ["zeta", "alpha", "mid"]


@pytest.mark.parametrize("size", [(80, 24), (120, 35), (99, 30)])
async def test_the_undo_toast_keeps_a_long_chinese_title_on_one_line(
    sample_library: Library, tmp_path: Path, size: tuple[int, int]
) -> None:
    """`u` on a 73-cell Chinese title: the toast's message is one line on screen (measured
    on Textual's own Toast), the title cut with an ellipsis inside its two quotes; so is
    ctrl+r's. Before, the title wrapped and its closing quote stood alone on the last line."""
    from rich.cells import cell_len
    from textual.widgets._toast import Toast

    lib = sample_library
    pid = max(lib.query(""), key=lambda p: cell_len(lib.short_title(p)))
    full = lib.short_title(pid)
    assert cell_len(full) > 60 and not full.isascii()
    app = build(lib, tmp_path)
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.press("3")
        app.paper_list.move_to(app.paper_list.ids.index(pid))
        await pilot.press("s")
        for key, lead in (("u", "Undone: star on “"), ("ctrl+r", "Redone: star on “")):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            (message,) = toasts(app)
            assert message.startswith(lead) and message.endswith("…”"), message
            shown = message[len(lead) : -2]
            assert len(shown) >= 5 and full.startswith(shown)  # (the title's start)
            await pilot.pause()
            (toast,) = app.screen.query(Toast)
            assert toast.content_region.width >= cell_len(message)
            assert toast.content_region.height == 1  # (one line of text)


def test_a_redo_of_an_undo_that_changed_nothing_says_so(sample_library: Library) -> None:
    """Found by an adversary: the app starred a paper, `papertui star --off` unstarred it,
    `u` in the app then changed nothing ("not undone: changed again since"), and a redo of
    that undo said "star (its papers are no longer in the library)": the paper was there.
    It now names the paper and says that nothing changed. Oracle: the messages written by
    hand, the paper's state read back."""
    from tui.history import describe_undo

    from .test_cli import run

    app = sample_library
    app.agent = "app"  # (this handle is the app's window: its own session)
    db = app.root
    pid = sorted(app)[0]
    title = app.short_title(pid)  # (as every undo message names a paper)
    app.set_state([pid], "star", starred=True)
    assert run("star", pid, "--off", db=db).returncode == 0
    undone = app.undo_change(own_first=True)
    assert undone is not None
    assert describe_undo(app, undone, here=True) == (
        f"star on “{title}”; not undone: changed again since"
    )
    redone = run("redo", db=db)
    assert redone.returncode == 0, redone.stderr
    said = redone.stdout.strip()
    assert said.startswith(f"redone: star on “{title}” (undone in the papertui app, ")
    assert said.endswith("); nothing changed, as the undo had changed nothing")
    assert "no longer in the library" not in said
    assert not Library.open(db).state(pid).starred


def test_a_redo_that_finds_its_papers_changed_again_says_not_redone(
    sample_library: Library,
) -> None:
    """The same message for a redo whose paper was changed again by another window since the
    undo said "not undone"; it is "not redone"."""
    from tui.history import describe_undo

    from .test_cli import run

    app = sample_library
    app.agent = "app"
    pid = sorted(app)[0]
    title = app.short_title(pid)  # (as every undo message names a paper)
    app.set_state([pid], "star", starred=True)
    assert app.undo_change(own_first=True) is not None
    assert run("star", pid, db=app.root).returncode == 0  # (another process stars it again)
    redone = app.redo_change(own_first=True)
    assert redone is not None
    assert describe_undo(app, redone, here=True, redo=True) == (
        f"star on “{title}”; not redone: changed again since"
    )
    assert app.state(pid).starred
