"""A template copy with other bounds is written whatever YAML constructors the process holds."""

from samcli.yamlhelper import yaml_parse

from flowgen_local import template
from flowgen_local.template import with_parameter_bounds


def test_a_bounded_copy_is_written_after_the_sam_cli_parsed_yaml() -> None:
    template._parsed.cache_clear()  # parsed and written again here, after the SAM CLI's parse
    template._bounded_text.cache_clear()
    yaml_parse("a: {b: 1}\nc: !Ref d\n")  # registers an OrderedDict constructor on yaml.SafeLoader
    copy = with_parameter_bounds({"WorkerTimeoutSeconds": {"MinValue": 5}})
    assert "MinValue: 5" in copy.read_text()
