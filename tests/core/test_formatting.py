"""What pages show: the `rupiah` and `wib` template filters, and phone numbers in +62 form."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import render_template_string, session
from hypothesis import example, given
from hypothesis import strategies as st

from core.money import MoneyError
from core.phone import PhoneError, normalize_phone, whatsapp_number

MOMENT = datetime(2026, 11, 27, 23, 39, tzinfo=UTC)  # 06.39 the next morning in Blitar


def render(app, source: str, lang: str | None = None, **context) -> str:
    """Render `source` in a request whose browser chose `lang` (None: the default)."""
    with app.test_request_context("/"):
        if lang is not None:
            session["lang"] = lang
        return render_template_string(source, **context)


# --- rupiah -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount,shown", [(0, "Rp0"), (12500, "Rp12.500"), (1234567, "Rp1.234.567"), (-5000, "-Rp5.000")]
)
@pytest.mark.parametrize("lang", [None, "id", "en"])
def test_rupiah_filter_is_the_same_in_every_language(app, amount, shown, lang):
    assert render(app, "{{ amount|rupiah }}", lang, amount=amount) == shown


@pytest.mark.parametrize("amount", [12500.0, True, "12500"])
def test_rupiah_filter_refuses_a_non_integer(app, amount):
    with pytest.raises(MoneyError):
        render(app, "{{ amount|rupiah }}", amount=amount)


# --- WIB times ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", [None, "id"])
def test_wib_filter_in_indonesian_is_day_first_with_a_dot_in_the_time(app, lang):
    assert render(app, "{{ moment|wib }}", lang, moment=MOMENT) == "28 Nov 2026 06.39 WIB"
    assert render(app, "{{ moment|wib_date }}", lang, moment=MOMENT) == "28 Nov 2026"


def test_wib_filter_in_english_uses_a_colon(app):
    assert render(app, "{{ moment|wib }}", "en", moment=MOMENT) == "28 Nov 2026 06:39 WIB"
    assert render(app, "{{ moment|wib_date }}", "en", moment=MOMENT) == "28 Nov 2026"


@pytest.mark.parametrize(
    "moment,indonesian,english",
    [
        (datetime(2026, 8, 17, 3, 0, tzinfo=UTC), "17 Agu 2026 10.00 WIB", "17 Aug 2026 10:00 WIB"),
        (datetime(2026, 5, 1, 0, 5, tzinfo=UTC), "1 Mei 2026 07.05 WIB", "1 May 2026 07:05 WIB"),
        (datetime(2026, 10, 9, 16, 59, tzinfo=UTC), "9 Okt 2026 23.59 WIB", "9 Oct 2026 23:59 WIB"),
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "1 Jan 2027 00.00 WIB", "1 Jan 2027 00:00 WIB"),
        # Any offset is the same moment: 09.00 WIT (UTC+9) in Papua is 07.00 in Blitar.
        (
            datetime(2026, 12, 24, 9, 0, tzinfo=timezone(timedelta(hours=9))),
            "24 Des 2026 07.00 WIB",
            "24 Dec 2026 07:00 WIB",
        ),
    ],
)
def test_wib_filter_shows_the_clock_in_blitar(app, moment, indonesian, english):
    assert render(app, "{{ moment|wib }}", moment=moment) == indonesian
    assert render(app, "{{ moment|wib }}", "en", moment=moment) == english


def test_wib_filter_shows_nothing_for_no_time(app):
    assert render(app, "[{{ moment|wib }}]", moment=None) == "[]"


def test_wib_filter_refuses_a_naive_datetime(app):
    with pytest.raises(ValueError):
        render(app, "{{ moment|wib }}", moment=datetime(2026, 11, 27, 23, 39))
    with pytest.raises(ValueError):
        render(app, "{{ moment|wib_date }}", "en", moment=datetime(2026, 11, 27, 23, 39))


# --- phone numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0812-3456-7890",
        "0812 3456 7890",
        "081234567890",
        "62 812 3456 7890",
        "6281234567890",
        "+62 812-3456-7890",
        "+6281234567890",
        "+62 (812) 3456.7890",
        "0812/3456/7890",
        "  0812 3456 7890\n",
        "+62 0812 3456 7890",
    ],
)
def test_normalize_phone_accepts_the_ways_people_write_a_number(raw):
    assert normalize_phone(raw) == "+6281234567890"


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("0341 801234", "+62341801234"),
        ("(0342) 801234", "+62342801234"),
        ("021 555 1234", "+62215551234"),
        ("08123456789", "+628123456789"),
    ],
)
def test_normalize_phone_accepts_landlines_and_shorter_mobiles(raw, normal):
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "0812",
        "abc",
        "0812-3456-78901234",
        "+1 650 253 0000",
        "+44 20 7946 0958",
        "0812_3456_7890",
        "+6281234567890x",
        "0812 3456 7890 ext 1",
        "++6281234567890",
        "1" * 25,
        "0800 0000 0000 0000",
        None,
        81234567890,
        6.28e12,
    ],
)
def test_normalize_phone_refuses_what_is_not_an_indonesian_number(raw):
    with pytest.raises(PhoneError):
        normalize_phone(raw)


def test_phone_error_is_a_value_error():
    assert issubclass(PhoneError, ValueError)


def test_whatsapp_number_drops_the_plus():
    assert whatsapp_number("+6281234567890") == "6281234567890"


MOBILE_PREFIXES = [
    "0811",
    "0812",
    "0813",
    "0821",
    "0822",
    "0823",
    "0851",
    "0852",
    "0853",
    "0814",
    "0815",
    "0816",
    "0855",
    "0856",
    "0857",
    "0858",
    "0859",
    "0817",
    "0818",
    "0819",
    "0877",
    "0878",
    "0831",
    "0832",
    "0833",
    "0838",
    "0881",
    "0882",
    "0883",
    "0884",
    "0885",
    "0886",
    "0887",
    "0888",
    "0889",
    "0895",
    "0896",
    "0897",
    "0898",
    "0899",
]


def written_forms(local: str) -> list[str]:
    """The three ways a number reaches us: 0812-3456-7890, 62 812 3456 7890, +6281234567890."""
    national = local[1:]
    return [
        f"{local[:4]}-{local[4:8]}-{local[8:]}".rstrip("-"),
        f"62 {national[:3]} {national[3:7]} {national[7:]}".rstrip(),
        "+62" + national,
    ]


@given(prefix=st.sampled_from(MOBILE_PREFIXES), subscriber=st.text("0123456789", min_size=6, max_size=9))
@example(prefix="0812", subscriber="34567890")
def test_any_mobile_number_normalises_to_one_value_whichever_way_it_is_written(prefix, subscriber):
    local = prefix + subscriber
    expected = "+62" + local[1:]
    assert [normalize_phone(form) for form in written_forms(local)] == [expected] * 3


@given(local=st.text("0123456789", min_size=4, max_size=14).map(lambda digits: "08" + digits))
def test_the_three_written_forms_are_accepted_or_refused_together(local):
    results = []
    for form in written_forms(local):
        try:
            results.append(normalize_phone(form))
        except PhoneError:
            results.append(None)
    assert results in ([None] * 3, ["+62" + local[1:]] * 3)
