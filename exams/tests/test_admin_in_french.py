"""A French teacher authors exams in a French admin (issue 16, item 7): the field labels, the
fieldset and inline titles and the list's column headers all read in French, not only Django's
own words around them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

# Words that are the same in French and in English: not a missing translation.
SAME_IN_BOTH = {
    "Description",
    "Code",
    "Type",
    "Image",
    "Points",
    "Page",
    "Options",
    "Question",
    "Questions",
    "Photo",
}


class Headings(HTMLParser):
    """The text of each <label>, <h2> and column header (<th> of a <thead>), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._open: list[str] = []  # the tags being read, innermost last
        self._thead = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "thead":
            self._thead += 1
        if tag in ("label", "h2") or (tag == "th" and self._thead):
            self._open.append(tag)
            self._buffer = []

    def handle_endtag(self, tag) -> None:
        if tag == "thead":
            self._thead -= 1
        if self._open and tag == self._open[-1]:
            self._open.pop()
            text = " ".join("".join(self._buffer).split()).rstrip(":").strip()
            if text:
                self.texts.append(text)

    def handle_data(self, data) -> None:
        if self._open:
            self._buffer.append(data)


def headings_of(client, user, url: str, language: str) -> list[str]:
    user.language = language
    user.save(update_fields=["language"])
    response = client.get(url)
    assert response.status_code == 200, url
    parser = Headings()
    parser.feed(response.content.decode())
    return parser.texts


@pytest.mark.django_db
def test_a_french_teacher_reads_the_exam_authoring_admin_in_french(client, world):
    tess = world.tess
    client.force_login(tess)
    pages = [
        f"/admin/exams/exam/{world.physics.pk}/change/",
        "/admin/exams/exam/",
        "/admin/exams/questionbank/add/",
        "/admin/exams/course/add/",
    ]
    untranslated = []
    for url in pages:
        english = headings_of(client, tess, url, "en")
        french = headings_of(client, tess, url, "fr")
        assert len(english) == len(french) > 5, url
        untranslated += [f"{url}: {en!r}" for en, fr in zip(english, french, strict=True) if en == fr]
    # The English pages are what they were: the words are the English ones, as tests elsewhere read.
    assert "Start time" in headings_of(client, tess, pages[0], "en")
    assert "Alerts and risk" in headings_of(client, tess, pages[0], "en")
    # The exam's own title heads its page: the teacher's words, not Procto's.
    same = SAME_IN_BOTH | {world.physics.title}
    untranslated = [text for text in untranslated if text.split(": ", 1)[1].strip("'") not in same]
    assert not untranslated, "Shown in English to a French teacher:\n" + "\n".join(untranslated)


@pytest.mark.django_db
def test_a_french_teacher_reads_the_admin_sections_names_in_french(client, teacher):
    teacher.language = "fr"
    teacher.save(update_fields=["language"])
    client.force_login(teacher)
    index = client.get("/admin/").content.decode()
    assert ">Examens<" in index and ">Banques de questions<" in index and ">Cours<" in index
    assert ">Exams<" not in index and ">Question banks<" not in index
