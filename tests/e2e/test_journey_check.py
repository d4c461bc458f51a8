"""The check every journey runs on every page finds what it looks for: English on a page in English, and an element
wider than the phone."""

import pytest

from tests.e2e.journey import assert_fits_and_speaks_indonesian, english_in, phone


def test_the_check_finds_english_on_the_english_login_page(browser, live_server):
    with phone(browser) as page:
        page.goto(f"{live_server}/login")
        assert_fits_and_speaks_indonesian(page)  # the same page in Indonesian passes

        page.goto(f"{live_server}/lang/en?next=/login")
        assert page.locator("html").get_attribute("lang") == "en"
        with pytest.raises(AssertionError, match="shows English") as found:
            assert_fits_and_speaks_indonesian(page)
        assert "Log in" in str(found.value)


def test_the_check_finds_an_element_wider_than_the_phone(browser):
    with phone(browser) as page:
        page.set_content(
            '<html lang="id"><head><meta name="viewport" content="width=device-width"></head><body><p class="lebar">Keranjang</p></body></html>'
        )
        assert_fits_and_speaks_indonesian(page)
        page.add_style_tag(content=".lebar{width:600px}")
        with pytest.raises(AssertionError, match="lebar") as found:
            assert_fits_and_speaks_indonesian(page)
        assert "wider than the phone" in str(found.value)


@pytest.mark.parametrize(
    "text",
    ["Your cart is empty.", "Tambah ke keranjang · Save", "the rest", "3 products", "Order #12", "Login"],
)
def test_english_is_found_in_text(text):
    assert english_in(text) != []


@pytest.mark.parametrize(
    "text",
    ["Keranjang Anda kosong.", "Total: Rp45.000", "Nama login Anda: sumi.a", "Kirim lewat WhatsApp", "Transfer"],
)
def test_indonesian_passes(text):
    assert english_in(text) == []
