"""Load through one Chroma server: clients asking at once through two instances on roots that
share nothing but the server get the answers one client gets asking alone."""

import pytest

from benchmarks import load


@pytest.mark.slow
def test_clients_of_two_instances_sharing_only_a_server_get_the_answers_asked_alone(tmp_path):
    result = load.run(clients=4, questions=12, instances=2, seeds_only=True, folder=tmp_path)
    assert result.asked == 4 * 12
    assert result.errors == 0, result.examples
    assert result.mismatches == 0, result.examples
    assert result.answered >= 12, result  # the comparison covers real answers, not just refusals
    assert set(result.per_instance) == {"instance-a", "instance-b"}
    assert not (tmp_path / "b" / "seeds").exists()  # instance B answered with no documents of its own
