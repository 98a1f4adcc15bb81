"""A missing optional extra is a setup error that names the pip command; a missing daigt module is a bug."""

from __future__ import annotations

import pytest

from daigt.extras import MissingExtraError, import_extra


def test_a_missing_third_party_package_names_the_extra_to_install():
    with pytest.raises(MissingExtraError, match=r"the report needs the optional extra 'report' \(no_such_package_xyz"):
        import_extra("no_such_package_xyz", "report", "the report")
    assert import_extra("json", "report", "the report").dumps([1]) == "[1]"


def test_a_missing_daigt_module_is_a_bug_and_propagates_as_such():
    with pytest.raises(ModuleNotFoundError) as error:
        import_extra("daigt.no_such_module", "transformer", "training")
    assert not isinstance(error.value, MissingExtraError)
