"""Procto speaks English and French (issue 16, item 7): every string the code marks for translation
has a French translation, the compiled catalogs are those of their sources, and a French reader
(by their account, by their browser) gets the pages and the API's messages in French.

The catalog test extracts the messages as `make messages` does (Django's makemessages, in a copy
of the source tree: the repository's catalogs are not touched), so a string marked in a template
or in Python without a translation fails here by name. It needs GNU gettext (xgettext, msgmerge):
scripts/ensure-test-tools.sh installs it.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.tests.factories import DEFAULT_PASSWORD

BASE_DIR = Path(settings.BASE_DIR)
LOCALE_DIR = BASE_DIR / "locale"
# What holds server-side strings (the `django` domain); the `djangojs` domain is static/js's.
SOURCES = ("accounts", "exams", "sessions", "proctoring", "procto", "templates")
# Tests' own strings are not shown to anyone; bench/ and docs/ are not part of the product.
IGNORED = ["*/tests/*", "*/management/commands/*"]


def po_entries(text: str) -> list[dict]:
    """The entries of a .po file: {"msgctxt", "msgid", "msgid_plural", "msgstr": [...], "fuzzy"};
    the header (msgid "") and obsolete entries (#~) left out."""
    entries = []
    for block in re.split(r"\n\s*\n", text):
        entry: dict = {"msgstr": [], "fuzzy": False, "msgid_plural": None}
        field = None
        parts: dict[str, list[str]] = {}
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                entry["fuzzy"] = True
            if line.startswith("#"):
                continue
            match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$", line)
            if match:
                field = match.group(1)
                parts[field] = [match.group(2)]
            elif line.startswith('"') and field:
                parts[field].append(line)
        if "msgid" not in parts:
            continue
        text_of = {key: "".join(ast.literal_eval(piece) for piece in value) for key, value in parts.items()}
        if text_of["msgid"] == "":
            continue
        entry["msgid"] = text_of["msgid"]
        entry["msgctxt"] = text_of.get("msgctxt")
        entry["msgid_plural"] = text_of.get("msgid_plural")
        entry["msgstr"] = [text_of[key] for key in sorted(text_of) if key.startswith("msgstr")]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def extracted_catalog(tmp_path_factory) -> list[dict]:
    """The French `django` catalog as makemessages makes it from the code now, merged with the
    repository's translations, in a copy of the tree."""
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.fail("GNU gettext is missing (xgettext, msgmerge): run scripts/ensure-test-tools.sh")
    root = tmp_path_factory.mktemp("catalog")
    for name in SOURCES:
        shutil.copytree(BASE_DIR / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    (root / "locale" / "fr" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(LOCALE_DIR / "fr" / "LC_MESSAGES" / "django.po", root / "locale" / "fr" / "LC_MESSAGES")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setattr(settings, "LOCALE_PATHS", [root / "locale"])
        options = {"ignore_patterns": IGNORED, "no_obsolete": True, "verbosity": 0}
        call_command("makemessages", locale=["fr"], domain="django", **options)
    return po_entries((root / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text())


def test_every_string_marked_for_translation_has_a_french_translation(extracted_catalog):
    assert len(extracted_catalog) > 500  # the extraction found the code's strings
    missing = [
        entry["msgid"]
        for entry in extracted_catalog
        if entry["fuzzy"] or not entry["msgstr"] or not all(entry["msgstr"])
    ]
    assert not missing, f"{len(missing)} strings have no French translation (or a fuzzy one):\n" + "\n".join(
        missing
    )


def test_the_french_catalog_keeps_the_placeholders_of_each_message(extracted_catalog):
    """A translation that drops or renames %(name)s or {{ name }} would raise or show a hole."""
    placeholder = re.compile(r"%\(\w+\)[sdf]|\{\{ *\w+ *\}\}")
    wrong = []
    for entry in extracted_catalog:
        wanted = sorted(set(placeholder.findall(entry["msgid_plural"] or entry["msgid"])))
        for french in entry["msgstr"]:
            if french and sorted(set(placeholder.findall(french))) != wanted:
                wrong.append(f"{entry['msgid']!r} -> {french!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_committed_compiled_catalog_is_its_source_compiled(domain):
    """The .mo files are committed (the quick start needs no gettext): they must say what the .po
    files say; after editing a .po, run `make messages`."""
    source = LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{domain}.po"
    if not source.exists():
        pytest.skip(f"no {domain} catalog")
    with open(source.with_suffix(".mo"), "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    expected = {}
    for entry in po_entries(source.read_text()):
        if entry["fuzzy"] or not all(entry["msgstr"]):
            continue
        # gettext's key for a message with a context: the context, EOT, the message.
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if entry["msgctxt"] is not None else entry["msgid"]
        if entry["msgid_plural"] is None:
            expected[key] = entry["msgstr"][0]
        else:
            for index, text in enumerate(entry["msgstr"]):
                expected[(key, index)] = text
    compiled_messages = {key: value for key, value in catalog.items() if key != ""}
    assert compiled_messages == expected


# --- a French reader ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_french_browser_gets_the_login_page_in_french(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    text = page.content.decode()
    assert page["Content-Language"] == "fr"
    assert '<html lang="fr">' in text
    assert "Connexion à Procto" in text and "Mot de passe oublié ?" in text
    assert "Log in to Procto" not in text
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert "Log in to Procto" in english


@pytest.mark.django_db
def test_a_french_student_gets_the_dashboard_in_french_whatever_the_browser_says(client, student):
    student.language = "fr"
    student.save()
    client.force_login(student)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Vos examens" in page and "Rejoindre un cours" in page
    assert "Your exams" not in page


@pytest.mark.django_db
def test_an_api_error_message_is_in_the_readers_language_and_its_code_stays_english(api, client, student):
    # A French browser, no account: the login's refusal.
    refused = api.post(
        "/api/auth/login",
        {"email": student.email, "password": "not-the-password"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr",
    ).json()["error"]
    assert refused["code"] == "INVALID_CREDENTIALS"
    assert refused["message"] == "Adresse e-mail ou mot de passe incorrect."
    # A French account, with a token and an English browser.
    student.language = "fr"
    student.save()
    credentials = {"email": student.email, "password": DEFAULT_PASSWORD}
    tokens = api.post("/api/auth/login", credentials, format="json")
    access = tokens.json()["data"]["accessToken"]
    unknown = api.post(
        "/api/courses/join",
        {"code": "NO-SUCH-CODE"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()["error"]
    assert unknown["code"] == "JOIN_CODE_UNKNOWN"
    assert unknown["message"] == "Aucun cours n'a ce code. Vérifiez-le auprès de votre enseignant."


@pytest.mark.django_db
def test_the_header_picker_changes_the_language_without_javascript_and_remembers_it(client, student):
    # A visitor: a plain form post; the cookie keeps the choice.
    response = client.post("/accounts/language/", {"language": "fr", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "Connexion à Procto" in client.get("/accounts/login/").content.decode()
    # A signed-in student: kept on the account, for every device, e-mails and reports.
    client.force_login(student)
    client.post("/accounts/language/", {"language": "en", "next": "/"})
    client.post("/accounts/language/", {"language": "fr", "next": "/"})
    student.refresh_from_db()
    assert student.language == "fr"
    page = client.get("/").content.decode()
    assert 'name="language" value="en"' in page  # the picker offers the other language
    assert "Vos examens" in page


@pytest.mark.django_db
def test_a_french_teacher_gets_the_session_report_pdf_in_french(
    client, settings, tmp_path, teacher, proctor, student
):
    from exams.tests.factories import ExamFactory
    from proctoring.tests.reports.reporting import proctored_session
    from proctoring.tests.reports.test_pdf import pdf_of, text_of

    settings.MEDIA_ROOT = tmp_path
    exam = ExamFactory(created_by=teacher, title="Physics midterm")
    exam.proctors.add(proctor)
    reviewed = proctored_session(exam=exam, student=student, reviewer=teacher, snapshot=None)
    teacher.language = "fr"
    teacher.save()
    text = text_of(pdf_of(client, teacher, reviewed.session))
    assert "Rapport de session : Physics midterm" in text
    assert "Chronologie" in text and "Journal des événements" in text
    assert "Changement d'onglet" in text and "Visage non visible" in text  # the conditions' names
    assert "Session report" not in text and "Tab switch" not in text
