"""The JavaScript side of the translations (issue 16, item 7): every string the page scripts mark
with gettext()/ngettext()/pgettext() has a French translation, and /jsi18n/ serves each viewer's
language."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(settings.BASE_DIR)
FRENCH_CATALOG = ROOT / "locale" / "fr" / "LC_MESSAGES" / "djangojs.po"


def msgids(po: Path, *flags: str) -> list[str]:
    """The msgids of `po` that msgattrib selects with `flags` (e.g. --untranslated)."""
    command = ["msgattrib", *flags, "--no-wrap", "--no-location", str(po)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    ids = []
    for block in out.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("msgid ") and line != 'msgid ""':
                ids.append(line[len("msgid ") :].strip('"'))
    return ids


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The djangojs strings of static/js as makemessages extracts them now, into a copy of the
    scripts (the vendored libraries left out): the repository's catalogs are not touched."""
    if not shutil.which("xgettext"):
        pytest.skip("GNU gettext (xgettext) is not installed")
    tree = tmp_path_factory.mktemp("jsi18n")
    shutil.copytree(ROOT / "static" / "js", tree / "static" / "js")
    (tree / "locale").mkdir()
    cwd = Path.cwd()
    try:
        os.chdir(tree)
        with override_settings(LOCALE_PATHS=[tree / "locale"]):
            call_command("makemessages", domain="djangojs", locale=["fr"], verbosity=0)
    finally:
        os.chdir(cwd)
    return tree / "locale" / "fr" / "LC_MESSAGES" / "djangojs.po"


def test_the_extraction_finds_the_exam_pages_strings(extracted):
    found = set(msgids(extracted))
    # The pills, the submit dialog and the system check: what a student reads on every exam.
    for text in ("Saved", "Signed out", "Connected", "Submit now", "Flag for review", "Re-check"):
        assert text in found, text
    assert len(found) > 300, len(found)


def test_every_javascript_string_has_a_french_translation(extracted, tmp_path):
    """Fails on a string marked in static/js with no French (or only a fuzzy guess), naming it.
    To fix: run `manage.py makemessages -d djangojs -l fr --ignore 'static/vendor/*'`, translate
    the new entries in locale/fr/LC_MESSAGES/djangojs.po, then `manage.py compilemessages -l fr`."""
    # The repository's French entries, matched to the strings the scripts have now: a string
    # added or reworded in a script has no (or only a fuzzy) translation here.
    merged = tmp_path / "merged.po"
    command = ["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", str(merged), str(FRENCH_CATALOG)]
    command.append(str(extracted))
    subprocess.run(command, check=True)
    untranslated = msgids(merged, "--untranslated")
    fuzzy = msgids(merged, "--only-fuzzy")
    assert not untranslated and not fuzzy, (
        f"{len(untranslated)} JavaScript strings have no French translation: {untranslated}; "
        f"{len(fuzzy)} only a fuzzy one: {fuzzy}"
    )


# As the catalog writes it (JSON, non-ASCII escaped): the exam page's "Signed out" pill.
SIGNED_OUT_FR = '"Signed out": ' + json.dumps("Déconnecté")


def test_the_catalog_is_served_in_the_viewers_language_and_cached_per_language(client):
    french = client.get("/jsi18n/?l=fr", HTTP_ACCEPT_LANGUAGE="fr")
    assert french.status_code == 200
    assert french["Content-Type"].startswith("text/javascript")
    assert SIGNED_OUT_FR in french.content.decode()
    assert "max-age=3600" in french["Cache-Control"]
    # The same URL in English right after: the server's cached French copy is not served to it.
    english = client.get("/jsi18n/?l=fr", HTTP_ACCEPT_LANGUAGE="en")
    assert "Signed out" not in english.content.decode()
    again = client.get("/jsi18n/?l=fr", HTTP_ACCEPT_LANGUAGE="fr")
    assert SIGNED_OUT_FR in again.content.decode()


def test_every_page_loads_the_catalog_before_its_scripts_as_a_file(client):
    """The Content-Security-Policy allows no inline script: the catalog is a script file, in the
    head, before the page's modules that call gettext()."""
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    tag = '<script src="/jsi18n/?l=fr"></script>'
    assert tag in page
    assert page.index(tag) < page.index("</head>") < page.index('<script type="module"')


# A script's message that tells the student which button to press, and that button's label in
# the page's template (the django catalog): in French both must name the same button.
BUTTONS_NAMED_BY_SCRIPTS = [
    ("Re-check", "Check your internet connection, then press Re-check."),
    ("Re-check", "Re-check"),  # mediaErrorHint's default name of the check page's button
    ("Take photo", "Camera ready. Press Take photo when you are ready."),
    ("Start recording", "Camera ready. Read the steps above, then press Start recording."),
    ("Start the camera again", "Nothing was recorded. Press Start the camera again and record once more."),
    ("Retry the upload", "%s Your recording is kept: press Retry the upload."),
    ("Open the exam in a new window", "Press Open the exam in a new window (above) and go on there."),
    (
        "Start the exam now",
        "Your admission expired before you started. Ask again, and press Start once admitted.",
    ),
]


@pytest.mark.parametrize(("label", "message"), BUTTONS_NAMED_BY_SCRIPTS)
def test_a_script_names_a_button_as_the_french_page_labels_it(label, message):
    from django.utils import translation
    from django.utils.translation.trans_real import DjangoTranslation

    with translation.override("fr"):
        button = translation.gettext(label)
    said = DjangoTranslation("fr", domain="djangojs").gettext(message)
    assert button != label, f"the page's {label!r} button has no French label"
    assert button in said, f"{said!r} does not name the button {button!r}"


def test_each_french_script_message_keeps_its_placeholders():
    """interpolate() fills %s in order and %(name)s by name: a translation that drops or renames
    one shows a hole (or another value) on the page."""
    placeholder = re.compile(r"%\(\w+\)s|%s")
    command = ["msgattrib", "--translated", "--no-wrap", "--no-location", str(FRENCH_CATALOG)]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wrong = []
    for block in text.split("\n\n")[1:]:
        fields = re.findall(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', block, re.M)
        source = dict(fields).get("msgid_plural") or dict(fields)["msgid"]
        wanted = sorted(placeholder.findall(source))
        for name, french in fields:
            if name.startswith("msgstr") and sorted(placeholder.findall(french)) != wanted:
                wrong.append(f"{source!r} -> {french!r}")
    assert not wrong, "\n".join(wrong)
