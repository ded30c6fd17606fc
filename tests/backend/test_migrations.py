"""The models and their migrations agree: a model change without its migration fails here, not in production."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_no_model_change_lacks_a_migration(capsys):
    # A help_text change on Area.register_dsm once went without its migration; --check exits non-zero on that.
    call_command("makemigrations", "--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out
