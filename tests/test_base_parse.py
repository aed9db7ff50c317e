"""base.parse: the one reading of a comma list, with and without a set of allowed names."""

import pytest

from base.errors import InputError
from base.parse import comma_choices, comma_list


def test_a_comma_list_drops_blanks_and_spaces():
    assert comma_list(" a, b,,c ,", "--x", "names") == ["a", "b", "c"]
    assert comma_list("1/16", "--x", "fractions") == ["1/16"]


@pytest.mark.parametrize("value", ["", " , ,", ","])
def test_an_empty_list_names_the_flag_and_what_it_takes(value):
    with pytest.raises(InputError) as caught:
        comma_list(value, "--budgets", "token counts")
    assert str(caught.value) == f"--budgets takes a comma list of token counts, got {value!r}"


def test_choices_keep_the_given_order_once_each():
    assert comma_choices("c,a,c,b,a", "--only", ("a", "b", "c"), "parts") == ["c", "a", "b"]


def test_unknown_choices_are_named_with_the_allowed_ones():
    with pytest.raises(InputError) as caught:
        comma_choices("a,zz,yy", "--methods", ("a", "b"), "methods")
    assert str(caught.value) == "--methods: unknown methods zz, yy; choose among a, b"
    with pytest.raises(InputError, match="--methods takes a comma list of methods among a, b"):
        comma_choices("", "--methods", ("a", "b"), "methods")


@pytest.mark.parametrize("value, text", [(0.0625, "0.0625"), (1.0, "1"), (1e-5, "1e-05"), (0.3333334, "0.3333334"),
                                         (1 / 3, "0.3333333333333333"), (0.0156250001, "0.0156250001")])
def test_an_exact_number_reads_back_as_itself(value, text):
    from base.parse import exact_number

    assert exact_number(value) == text and float(exact_number(value)) == value
