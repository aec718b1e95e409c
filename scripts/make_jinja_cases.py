#!/usr/bin/env python3
"""Writes tests/fixtures/jinja/cases.json: templates rendered by Python jinja2 exactly as
transformers' apply_chat_template configures it (its own _compile_jinja_template), for
tests/unit/jinja/jinja_test.cc to compare the C++ interpreter against.

Each case is {name, template, context, output} or {name, template, context, error,
error_type, error_stage ("parse" when jinja2 refused the template, "render" otherwise),
error_line}. strftime_now is fixed to 2024-07-26 13:45:09 so that outputs are stable; the C++
test fixes its clock to the same instant.

Usage: /tmp/hfenv/bin/python scripts/make_jinja_cases.py  (jinja2 3.1.6, transformers 5.x)
"""
import datetime
import json
import os
import sys
import traceback

import jinja2
from transformers.utils.chat_template_utils import _compile_jinja_template

FIXED_NOW = datetime.datetime(2024, 7, 26, 13, 45, 9)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "jinja", "cases.json")

MSGS = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Tell me a joke."},
]
PARTS = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PEOPLE = [{"name": "bob", "age": 30, "city": "Paris"}, {"name": "Alice", "age": 25, "city": "paris"},
          {"name": "carol", "age": 35, "city": "Rome"}, {"name": "dave", "age": 25}]

CASES = []


def case(case_name, template, **context):
    CASES.append((case_name, template, context))


# ---- text, output, comments, raw ----
case("text_only", "Hello, world!")
case("empty", "")
case("trailing_newline_dropped", "a\n")
case("two_trailing_newlines", "a\n\n")
case("crlf_normalized", "a\r\nb\rc")
case("print_var", "Hello {{ name }}!", name="Ann")
case("print_int_float", "{{ 1 }} {{ 2.5 }} {{ -3 }} {{ 1.0 }}")
case("print_none_bool", "{{ none }} {{ None }} {{ true }} {{ False }}")
case("comment", "a{# hidden #}b")
case("comment_multiline", "a{# one\ntwo #}b")
case("raw_block", "{% raw %}{{ not rendered }}{% endraw %}")
case("raw_keeps_newline", "  {% raw %}\n{{ x }}\n  {% endraw %}\nz")
case("braces_in_text", "a { b } c {x} }}")

# ---- whitespace control, trim_blocks, lstrip_blocks ----
case("trim_blocks_newline", "{% if true %}\nyes\n{% endif %}\nafter")
case("lstrip_blocks_indent", "a\n    {% if true %}\n    b\n    {% endif %}\nc")
case("lstrip_not_before_var", "a\n  {{ 'x' }}\n")
case("lstrip_only_at_line_start", "a  {% if true %}b{% endif %}")
case("lstrip_tabs", "x\n\t \t{% if true %}y{% endif %}")
case("plus_disables_lstrip", "{%+ if true %}a{% endif %}|\n  {%+ if true %}b{% endif %}")
case("plus_disables_trim", "{% if true +%}\nyes{% endif %}")
case("minus_both_sides", "\t {%- if true -%} \n a \n {%- endif -%} \n")
case("minus_var", "a   {{- 'b' -}}   c")
case("minus_var_newlines", "a\n\n{{- 'b' }}\n\nc")
case("comment_trim", "x {#- c #} y\n  {# c #}\nz")
case("comment_minus_end", "a {# c -#}   \n  b")
case("trim_after_comment", "{# c #}\nline")
case("for_loop_lines", "{% for i in [1, 2, 3] %}\n{{ i }}\n{% endfor %}\n")
case("for_indented_lines", "<ul>\n  {% for i in [1, 2] %}\n  <li>{{ i }}</li>\n  {% endfor %}\n</ul>")
case("minus_strips_unicode_space", "a\u3000{%- if true %}b{% endif %}")
case("var_end_no_trim", "{{ 'a' }}\nb")
case("block_end_one_newline_only", "{% if true %}\n\nx{% endif %}")
case("raw_minus", "a  {%- raw -%}  b  {%- endraw -%}  c")
case("set_line_trimmed", "{% set x = 1 %}\n{{ x }}")
case("line_start_after_block_newline", "{% if true %}\n   {% if true %}x{% endif %}{% endif %}")

# ---- literals and printing as Python's str() ----
case("string_quotes", "{{ 'a' }}{{ \"b\" }}{{ 'it\\'s' }}{{ \"say \\\"hi\\\"\" }}")
case("string_escapes", "{{ 'tab\\there' }}|{{ 'nl\\nx' }}|{{ '\\x41\\u00e9\\U0001F600' }}|{{ 'back\\\\slash' }}")
case("string_adjacent", "{{ 'a' 'b' \"c\" }}")
case("int_literals", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 0 }} {{ 00 }}")
case("err_int_leading_zero", "{{ 007 }}")
case("float_literals", "{{ 1.5e3 }} {{ 2E-3 }} {{ 1_0.5 }} {{ 0.1 }} {{ 1e16 }} {{ 1e-5 }} {{ 123456789.125 }}")
case("float_repr", "{{ x }}", x=[1.5, 2.0, 1e100, 0.1, 1e-7, 123456789012345678.0, 1e15, -0.0])
case("list_repr", "{{ [1, 'a', none, true, 1.5, {'k': 'v'}, (1,), ()] }}")
case("dict_repr_quotes", "{{ d }}", d={"a": [1, 2], "b": "x'y", "c": 'x"y', "e": "x'\"y"})
case("str_repr_escapes", "{{ [s] }}", s="\n\t\x01\x7f\x80\xa0\u2028\u200b\ufeff\U0001F600\u00e9\\")
case("tuple_repr", "{{ (1, 'a') }} {{ ('a',) }} {{ () }} {{ (1, (2, 3)) }}")
case("dict_literal", "{{ {'a': 1, 'b': [1, 2], 3: none} }}")
case("nested_content_list", "{{ messages[0]['content'] }}", messages=PARTS)
case("print_tuple_expr", "{{ 1, 2 }}")
case("unicode_text", "{{ s }} {{ s|length }} {{ s[1] }} {{ s|upper }}", s="h\u00e9llo \u00fc\u00df")

# ---- arithmetic ----
case("arith_int", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 6 * 7 }} {{ 7 / 2 }} {{ 8 / 2 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }}")
case("arith_negative_floor", "{{ -7 // 2 }} {{ 7 // -2 }} {{ -7 % 3 }} {{ 7 % -3 }}")
case("arith_float", "{{ 0.1 + 0.2 }} {{ 1.0 // 0.3 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 2 ** 0.5 }} {{ 2 ** -1 }} {{ 1 + 1.0 }}")
case("arith_bool", "{{ true + true }} {{ true * 3 }} {{ 5 - false }}")
case("arith_strings", "{{ 'ab' * 3 }} {{ 2 * 'x' }} {{ 'a' + 'b' }} {{ 'x' * 0 }}|{{ 'x' * -1 }}|")
case("arith_lists", "{{ [1] * 3 }} {{ [1, 2] + [3] }} {{ (1,) + (2,) }}")
case("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ not 1 == 2 }} {{ 10 - 2 - 3 }}")
case("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ [1] }}|{{ x ~ 'y' }}")
case("tilde_binds_tighter_than_plus", "{{ 'a' ~ 'b' + 'c' }}")
case("unary", "{{ -x }} {{ +x }} {{ -(-3) }} {{ - 2.5 }}", x=4)
case("err_div_zero", "{{ 1 / 0 }}")
case("err_floordiv_zero", "{{ 1 // 0 }}")
case("err_mod_zero", "{{ 5 % 0 }}")
case("err_str_plus_int", "{{ 'x' + 1 }}")
case("err_int_plus_str", "{{ 1 + 'x' }}")
case("err_neg_str", "{{ -'a' }}")
case("err_list_plus_tuple", "{{ [1] + (2,) }}")
case("err_str_times_float", "{{ 'a' * 2.0 }}")
case("percent_format", "{{ '%s-%d' % ('a', 3) }} {{ '%05.2f' % 3.14159 }} {{ '%x|%#x|%o|%#o' % (255, 255, 8, 8) }} {{ '%-4s|' % 'ab' }} {{ '%(a)s' % {'a': 1} }} {{ '%%' % () }} {{ '%s' % [1] }}")
case("err_percent_args", "{{ '%s %s' % ('a',) }}")

# ---- comparisons, logic, membership ----
case("compare", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ 1 != 2 }}")
case("compare_chained", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 5 }} {{ 1 == 1 == 1 }}")
case("equality_types", "{{ (1, 2) == [1, 2] }} {{ true == 1 }} {{ {'a': 1} == {'a': 1} }} {{ none == none }} {{ 'a' == 1 }}")
case("logic_returns_operand", "{{ 0 or 'x' }} {{ 1 and [] }} {{ none or 0 }} {{ 'a' and 'b' }} {{ not '' }}")
case("in_operator", "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'z' not in 'abc' }}")
case("in_undefined", "{{ 1 in nothing }}")
case("err_compare_types", "{{ 'a' < 1 }}")
case("err_in_none", "{{ 'a' in none }}")
case("err_in_string_int", "{{ 1 in 'abc' }}")
case("condexpr", "{{ 'y' if true else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if false }}]")
case("condexpr_nested", "{{ 'a' if x > 5 else 'b' if x > 2 else 'c' }}", x=3)

# ---- tests ----
case("test_defined", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ x is not defined }}", x=1)
case("test_types", "{{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ {} is mapping }} {{ [] is mapping }}")
case("test_sequence_iterable", "{{ [] is sequence }} {{ '' is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ '' is iterable }} {{ 1 is iterable }} {{ none is iterable }} {{ u is sequence }} {{ u is iterable }} {{ u is callable }}")
case("test_true_false", "{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }}")
case("test_numbers", "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 3.0 is odd }}")
case("test_compare", "{{ 1 is eq 1 }} {{ 1 is equalto 1 }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} {{ 1 is le 0 }} {{ 2 is greaterthan 1 }} {{ 1 is lessthan 2 }}")
case("test_sameas_in", "{{ none is sameas none }} {{ 1 is sameas 1 }} {{ 1 is in [1, 2] }} {{ 'a' is in 'cat' }}")
case("test_string_case", "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }} {{ '1' is lower }}")
case("test_callable_filter_test", "{{ range is callable }} {{ 'x' is callable }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }}")
case("test_escaped", "{{ ('a'|safe) is escaped }} {{ 'a' is escaped }}")
case("test_not_and", "{{ x is defined and x > 1 }} {{ not x is defined }}", x=3)
case("err_unknown_test_in_if", "{% if x is foo %}{% endif %}ok")
case("err_unknown_test", "{{ x is foo }}")

# ---- attribute and item access ----
case("getattr_getitem_dict", "{{ m.content }}|{{ m['content'] }}|{{ m.missing }}|{{ m['missing'] }}", m=MSGS[1])
case("getitem_list", "{{ l[0] }} {{ l[-1] }} {{ l[5] }}| {{ l.0 }} {{ l[1] is defined }} {{ l[9] is defined }}", l=[5, 6, 7])
case("getitem_str", "{{ s[0] }} {{ s[-1] }} [{{ s[10] }}]", s="hello")
case("slicing", "{{ s[1:] }} {{ s[::-1] }} {{ l[:-1] }} {{ l[::2] }} {{ s[-3:-1] }} {{ l[5:] }} {{ s[:100] }} {{ l[1:2] }}", s="abcdef", l=[1, 2, 3, 4])
case("slice_range", "{{ range(10)[2:5] }} {{ range(5)[::-1] }} {{ range(5)[1] }}")
case("dict_method_shadowing", "{{ d.items is defined }} {{ d['items'] }}", d={"items": 5})
case("dict_key_named_like_method", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", d={"keys": 1, "values": 2})
case("attr_on_none", "[{{ none.x }}] {{ (none).x is defined }}")
case("attr_chain_defined", "{{ m.tool_calls is defined }} {{ m['tool_calls'] is not defined }}", m=MSGS[0])
case("err_attr_of_undefined", "{{ x.y }}")
case("err_attr_of_undefined_defined_test", "{{ x.y is defined }}")
case("err_slice_step_zero", "{{ 'abc'[1:2:0] }}")
case("err_index_undefined", "{{ x[0] }}")
case("int_attr_undefined", "[{{ 5.real }}]")

# ---- filters ----
case("f_trim_upper_lower", "[{{ '  hi  '|trim }}] [{{ 'xxhixx'|trim('x') }}] {{ 'Hi'|upper }} {{ 'Hi'|lower }}")
case("f_title_capitalize", "{{ 'hello world'|title }} {{ 'hello-world (x) [y] <z>'|title }} {{ \"they're\"|title }} {{ 'hELLO wORLD'|capitalize }}")
case("f_length_count", "{{ [1, 2]|length }} {{ 'abc'|count }} {{ {'a': 1}|length }} {{ x|length }}")
case("f_first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ {'a': 1, 'b': 2}|last }} [{{ []|first }}]")
case("f_join", "{{ [1, 2, 3]|join }} {{ [1, 2, 3]|join(', ') }} {{ l|join(', ', attribute='name') }} {{ 'abc'|join('-') }} {{ [none, 1.0, 'x']|join('|') }}", l=PEOPLE)
case("f_default", "{{ x|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ x|d('e') }} {{ 0|default('z', boolean=true) }} {{ 'v'|default('d') }}")
case("f_string_int_float", "{{ 3|string }} {{ '42'|int + 1 }} {{ '3.7'|int }} {{ ' 12 '|int }} {{ 'abc'|int }} {{ 'abc'|int(7) }} {{ '0x1A'|int(0, 16) }} {{ '1_000'|int }} {{ 3.9|int }} {{ true|int }} {{ none|int }}")
case("f_float", "{{ 3|float }} {{ '2.5'|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ ' 1e3 '|float }} {{ 'inf'|float }} {{ '-nan'|float }}")
case("f_list_items", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|list }} {{ {'a': 1}|items|list }} {{ x|list }} {{ (1, 2)|list }}")
case("f_dictsort", "{{ {'b': 1, 'A': 2, 'c': 0}|dictsort }} {{ {'b': 1, 'A': 2}|dictsort(true) }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }} {{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}")
case("f_selectattr", "{{ l|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }}", l=MSGS)
case("f_selectattr_truthy", "{{ l|selectattr('city')|map(attribute='name')|join(',') }} {{ l|rejectattr('city')|map(attribute='name')|join(',') }}", l=PEOPLE)
case("f_selectattr_tests", "{{ l|selectattr('age', 'gt', 26)|map(attribute='name')|join(',') }} {{ l|rejectattr('age', 'eq', 25)|map(attribute='name')|join(',') }} {{ l|selectattr('city', 'defined')|list|length }}", l=PEOPLE)
case("f_select_reject", "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 5, 9]|select('gt', 3)|list }} {{ ['a', 'b']|select('in', 'abc')|list }}")
case("f_map", "{{ l|map(attribute='name')|list }} {{ ['a', 'b']|map('upper')|list }} {{ l|map(attribute='city', default='?')|list }} {{ [[1, 2], [3]]|map('length')|list }} {{ ['1', '2']|map('int')|sum }} {{ [' a', 'b ']|map('trim')|join }}", l=PEOPLE)
case("f_map_nested_attribute", "{{ l|map(attribute='function.name')|list }} {{ [[1, 2], [3, 4]]|map(attribute='1')|list }}", l=TOOLS)
case("f_replace", "{{ 'hello'|replace('l', 'L') }} {{ 'hello'|replace('l', 'L', 1) }} {{ 'ab'|replace('', '-') }} {{ 123|replace('2', 'x') }}")
case("f_indent", "{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'a\\nb'|indent('> ') }}|{{ 'x'|indent }}")
case("f_indent_default_width", "{{ 'a\\nb'|indent }}")
case("f_safe_escape", "{{ '<a href=\"x\">&\\'</a>'|escape }} {{ '<b>'|safe }} {{ '<b>'|e|e }} {{ ('<' | e) + '<' }} {{ '<' ~ ('<'|e) }}")
case("f_unique", "{{ [1, 2, 1, 3]|unique|list }} {{ ['b', 'A', 'a', 'B']|unique|list }} {{ ['b', 'A', 'a']|unique(case_sensitive=true)|list }} {{ l|unique(attribute='age')|map(attribute='name')|list }}", l=PEOPLE)
case("f_sort", "{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'a', 'C']|sort }} {{ ['b', 'A', 'a']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ l|sort(attribute='age')|map(attribute='name')|list }} {{ l|sort(attribute='age,name')|map(attribute='name')|list }}", l=PEOPLE)
case("f_sort_stable_reverse", "{{ l|sort(attribute='age', reverse=true)|map(attribute='name')|list }}", l=PEOPLE)
case("f_reverse", "{{ 'abc'|reverse }} {{ [1, 2, 3]|reverse|list }} {{ [1, 2, 3]|reverse|join(',') }}")
case("f_sum_min_max", "{{ [1, 2, 3]|sum }} {{ [1.5, 2]|sum }} {{ l|sum(attribute='age') }} {{ [1, 2]|sum(start=10) }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ ['b', 'A', 'c']|min }} {{ ['b', 'A', 'c']|max }} {{ l|min(attribute='age')|attr('name') }} {{ l|max(attribute='age') }}", l=PEOPLE)
case("f_min_empty", "[{{ []|min }}] {{ []|max is defined }}")
case("f_abs_round", "{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(method='floor') }} {{ -2.5|round }} {{ 1234.5678|round(2) }} {{ 2.5|round(0, 'floor') }}")
case("f_batch_slice", "{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 'x')|list }} {{ [1, 2, 3, 4, 5]|slice(2)|list }} {{ [1, 2, 3, 4]|slice(3, 0)|list }}")
case("f_wordcount_center", "{{ 'a b  c, d-e'|wordcount }} [{{ 'abc'|center(9) }}] [{{ 'ab'|center(5) }}] [{{ 'abc'|center(2) }}]")
case("f_truncate", "{{ 'hello world foo bar'|truncate(11) }}|{{ 'hello world'|truncate(5, true) }}|{{ 'short'|truncate(10) }}|{{ 'hello world foo'|truncate(9, false, '!', 0) }}")
case("f_groupby", "{% for g in l|groupby('age') %}{{ g.grouper }}:{{ g.list|map(attribute='name')|join(',') }};{% endfor %}", l=PEOPLE)
case("f_groupby_repr_and_unpack", "{{ [{'a': 1}, {'a': 0}]|groupby('a') }} {% for k, items in [{'a': 'X'}, {'a': 'x'}]|groupby('a') %}{{ k }}={{ items|length }}{% endfor %}")
case("f_attr", "{{ d|attr('items') is defined }} [{{ d|attr('name') }}]", d={"name": "x"})
case("f_format", "{{ '%s is %d'|format('x', 3) }} {{ '%(a)s!'|format(a='hi') }}")
case("f_chain", "{{ '  Hello World  '|trim|lower|replace('world', 'there')|title }}")
case("f_filters_on_undefined", "[{{ u|upper }}|{{ u|trim }}|{{ u|length }}|{{ u|join(',') }}|{{ u|list }}|{{ u|first }}|{{ u|default('d') }}|{{ u|string }}|{{ u|sort }}|{{ u|map('upper')|list }}|{{ u|items|list }}|{{ u|sum }}|{{ u|reverse|list }}|{{ u|wordcount }}|{{ u|unique|list }}]")
case("f_filter_args_keyword", "{{ [1, 2]|join(d='+') }} {{ 'abc'|truncate(length=2, end='', leeway=0) }}")
case("err_unknown_filter", "{{ x|foo }}")
case("unknown_filter_in_untaken_if", "{% if false %}{{ x|foo }}{% endif %}ok")
case("unknown_filter_in_untaken_condexpr", "{{ x|foo if false else 1 }}")
case("err_unknown_filter_in_loop_in_if", "{% if false %}{% for i in x %}{{ x|foo }}{% endfor %}{% endif %}ok")
case("err_unknown_filter_taken_if", "{% if true %}{{ x|foo }}{% endif %}")
case("err_int_undefined", "{{ u|int }}")
case("err_tojson_undefined", "{{ u|tojson }}")
case("err_sort_mixed", "{{ [1, 'a']|sort }}")
case("err_items_list", "{{ [1]|items|list }}")
case("err_length_int", "{{ 5|length }}")
case("err_abs_str", "{{ 'a'|abs }}")
case("err_join_unexpected_kw", "{{ [1]|join(x=1) }}")
case("err_round_method", "{{ 1.5|round(method='up') }}")
case("err_dictsort_by", "{{ {'a': 1}|dictsort(by='x') }}")
case("err_map_no_args", "{{ [1]|map|list }}")
case("err_unhashable_unique", "{{ [[1], [1]]|unique|list }}")

# ---- tojson as transformers overrides it ----
case("tojson_basic", "{{ {'a': 1, 'b': [true, none, 1.5, 'x']}|tojson }}")
case("tojson_indent", "{{ {'a': 1, 'b': {'c': []}}|tojson(indent=2) }}|{{ [1, [2, {}], []]|tojson(indent=4) }}")
case("tojson_options", "{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, 2]|tojson(separators=(',', ':')) }}|{{ 'é'|tojson(true) }}|{{ 1.0|tojson }} {{ (1, 2)|tojson }} {{ {'a': 1}|tojson(indent=0) }}|{{ [1]|tojson(indent='\\t') }}")
case("tojson_escaping", "{{ s|tojson }}", s="quote\" back\\ nl\n tab\t ctl\x01\x1f del\x7f é \u2028 😀 </script> & '")
case("tojson_tools", "{{ tools|tojson }}\n{{ tools[0]|tojson(indent=4) }}", tools=TOOLS)
case("tojson_keys", "{{ {1: 'a', none: 'b', true: 'c', 1.5: 'd'}|tojson }}")
case("tojson_separators_with_indent", "{{ [1, 2]|tojson(indent=1, separators=(', ', ' = ')) }}")
case("tojson_key_order", "{{ d|tojson }} {{ d }}", d={"z": 1, "a": 2, "m": {"y": 1, "b": 2}})
case("err_tojson_namespace", "{% set ns = namespace(a=1) %}{{ ns|tojson }}")
case("err_tojson_range", "{{ range(2)|tojson }}")

# ---- string, dict and list methods ----
case("m_strip", "[{{ '  a  '.strip() }}] [{{ 'xxaxx'.strip('x') }}] [{{ '  a  '.lstrip() }}] [{{ '  a  '.rstrip() }}] [{{ 'abcba'.rstrip('ab') }}] [{{ '\\u3000a\\n'.strip() }}]")
case("m_split", "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ ''.split() }} {{ ''.split(',') }} {{ ' a b c '.split(None, 1) }} {{ 'a b c'.rsplit(None, 1) }}")
case("m_splitlines", "{{ 'a\\nb\\r\\nc\\n'.splitlines() }} {{ 'a\\nb'.splitlines(true) }}")
case("m_startswith", "{{ 'hello'.startswith('he') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('lo') }} {{ 'hello'.endswith(('a', 'b')) }} {{ 'hello'.startswith('l', 2) }}")
case("m_case", "{{ 'aBc'.upper() }} {{ 'aBc'.lower() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }} {{ 'aBc'.swapcase() }} {{ '1st place'.title() }}")
case("m_find_count", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'héllo'.find('l') }} {{ 'hello'.index('e') }} {{ 'aaa'.count('') }}")
case("m_replace_join", "{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }} {{ ', '.join(['a', 'b']) }} {{ ''.join('abc') }}")
case("m_pad", "[{{ 'ab'.center(6, '*') }}] [{{ 'ab'.ljust(4) }}] [{{ 'ab'.rjust(4, '0') }}] [{{ '42'.zfill(5) }}] [{{ '-42'.zfill(5) }}]")
case("m_predicates", "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ '  '.isspace() }} {{ 'Ab'.istitle() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }} {{ ''.isdigit() }} {{ 'é'.isascii() }}")
case("m_partition_affix", "{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.txt'.removesuffix('.txt') }}")
case("m_format", "{{ '{} and {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='n') }} {{ '{:>5}|{:<4}|{:^6}|'.format('a', 'b', 'c') }} {{ '{:.2f} {:5d} {:05d} {:,} {:x} {:#x}'.format(3.14159, 42, 42, 1234567, 255, 255) }} {{ '{!r} {{}}'.format('q') }} {{ '{0[a]} {0.b}'.format({'a': 1, 'b': 2}) }}")
case("m_dict", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.keys() }} {{ d.values() }} {{ d.items() }} {{ d.copy() }}", d={"a": 1, "b": 2})
case("m_list", "{{ l.count(1) }} {{ l.index(2) }} {{ l.copy() }} {{ (1, 2, 1).count(1) }}", l=[1, 2, 1])
case("err_list_append", "{% set l = [1] %}{{ l.append(2) }}")
case("unsafe_attr_prints_empty", "[{{ [].append }}] [{{ ''.__class__ }}] [{{ {}.update }}]")
case("err_dict_update", "{{ d.update({'b': 1}) }}", d={"a": 1})
case("err_list_pop", "{{ l.pop() }}", l=[1])
case("err_dunder_call", "{{ ''.__class__() }}")
case("err_split_empty_sep", "{{ 'abc'.split('') }}")
case("err_join_non_str", "{{ ', '.join([1, 2]) }}")
case("err_index_missing", "{{ 'abc'.index('z') }}")

# ---- for loops ----
case("for_basic", "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}", messages=MSGS)
case("for_loop_vars", "{% for i in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}")
case("for_prev_next", "{% for i in [1, 2, 3] %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}")
case("for_cycle_changed", "{% for i in [1, 1, 2] %}{{ loop.cycle('a', 'b') }}{{ loop.changed(i) }}{{ loop.depth }}{{ loop.depth0 }} {% endfor %}")
case("for_loop_repr", "{% for i in [1, 2] %}{{ loop }}{% endfor %}")
case("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in [1] %}x{% else %}empty{% endfor %}|{% for x in u %}x{% else %}undef{% endfor %}")
case("for_filter", "{% for m in messages if m.role == 'user' %}{{ loop.index }}/{{ loop.length }}:{{ m.content }};{% endfor %}", messages=MSGS)
case("for_filter_else", "{% for x in [1, 2] if x > 5 %}{{ x }}{% else %}none{% endfor %}")
case("for_filter_lazy_namespace", "{% set ns = namespace(done=false) %}{% for m in [1, 2, 3] if not ns.done %}{{ m }}{% set ns.done = true %}{% endfor %}")
case("for_filter_lazy_last", "{% set ns = namespace(done=false) %}{% for m in [1, 2, 3] if not ns.done %}{{ m }}{{ loop.last }}{% set ns.done = true %}{% endfor %}")
case("for_unpack", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}{% for a, b in [[1, 2], 'xy'] %}{{ a }}{{ b }}{% endfor %}")
case("for_unpack_nested", "{% for (a, b), c in [((1, 2), 3)] %}{{ a }}{{ b }}{{ c }}{% endfor %}")
case("for_dict_keys", "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}")
case("for_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}")
case("for_nested_loop_vars", "{% for a in [1, 2] %}{% set outer = loop %}{% for b in 'xy' %}{{ outer.index }}{{ loop.index }}{{ b }} {% endfor %}{% endfor %}")
case("for_scope_no_leak", "{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}[{{ x }}]{% endfor %}{{ x }}")
case("for_scope_per_iteration", "{% for i in range(3) %}{% if i == 0 %}{% set x = 'a' %}{% endif %}[{{ x }}]{% endfor %}")
case("for_var_restored", "{% set i = 9 %}{% for i in range(2) %}{{ i }}{% endfor %}{{ i }}")
case("for_loop_in_macro_not_visible", "{% macro m() %}[{{ loop }}]{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}")
case("for_over_string_dict_tuple", "{% for c in 'hé' %}{{ c }}.{% endfor %}{% for x in (1, 2) %}{{ x }}{% endfor %}")
case("for_iterable_tuple_expr", "{% for x in 1, 2 %}{{ x }}{% endfor %}")
case("err_for_int", "{% for a in 5 %}{% endfor %}")
case("err_for_none", "{% for a in none %}{% endfor %}")
case("err_unpack_short", "{% for a, b in [[1, 2], [3]] %}{{ a }}{% endfor %}")
case("err_unpack_long", "{% for a, b in [[1, 2, 3]] %}{{ a }}{% endfor %}")
case("err_break_outside", "{% break %}")
case("err_break_in_macro", "{% for i in [1] %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}")

# ---- if, set, namespace, with ----
case("if_elif_else", "{% for x in [1, 5, 10] %}{% if x < 3 %}small{% elif x < 7 %}mid{% else %}big{% endif %} {% endfor %}")
case("if_truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, none] %}{% if v %}T{% else %}F{% endif %}{% endfor %}")
case("if_set_leaks", "{% if true %}{% set x = 1 %}{% endif %}{{ x }}")
case("if_tuple_test", "{% if 1, 2 %}y{% endif %}")
case("set_basic", "{% set x = 'a' ~ 'b' %}{% set y = [1, 2] %}{{ x }}{{ y }}")
case("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = 'xy' %}{{ c }}{{ d }}")
case("set_block", "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]")
case("set_block_filter", "{% set x | upper | trim %}  ab{{ 'c' }}  {% endset %}[{{ x }}]")
case("namespace", "{% set ns = namespace(count=0, items=[]) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.count }} {{ ns.items }} {{ ns }}")
case("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }} {{ ns['a'] }} [{{ ns.c }}]")
case("namespace_set_block", "{% set ns = namespace(x='') %}{% set ns.x %}block{% endset %}{{ ns.x }}")
case("err_namespace_underscore", "{% set ns = namespace(a=1) %}{% set ns._a = 1 %}")
case("err_namespace_underscore_ctor", "{% set ns = namespace(_a=1) %}")
case("err_set_attr_non_namespace", "{% set d = {} %}{% set d.x = 1 %}")
case("with_block", "{% with a = 1, b = 2 %}{{ a }}{{ b }}{% endwith %}[{{ a }}]")
case("with_sees_outer", "{% set x = 5 %}{% with x = x + 1 %}{{ x }}{% endwith %}{{ x }}")
case("print_statement", "{% print 1, 'a' %}")
case("generation_block", "{% generation %}g{{ 1 }}{% endgeneration %}")
case("generation_scope", "{% generation %}{% set inner = 1 %}{% endgeneration %}[{{ inner }}]")
case("filter_block", "{% filter upper %}ab{{ 'c' }}{% endfilter %}{% filter replace('a', 'b') %}aaa{% endfilter %}")

# ---- macros and call ----
case("macro_basic", "{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Yo') }} {{ greet(greeting='Hey', name='Cy') }}")
case("macro_missing_arg", "{% macro m(a, b) %}{{ a }}|{{ b }}|{{ b is defined }}{% endmacro %}{{ m(1) }}")
case("macro_default_uses_arg", "{% macro m(a, b=a ~ '!') %}{{ a }}{{ b }}{% endmacro %}{{ m('x') }}")
case("macro_varargs_kwargs", "{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, a=3) }}")
case("macro_sees_later_global", "{% macro m() %}{{ y }}{% endmacro %}{% set y = 5 %}{{ m() }}")
case("macro_closure_in_loop", "{% for i in range(2) %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}")
case("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}")
case("macro_returns_string", "{% macro m() %}5{% endmacro %}{{ m() ~ 1 }} {{ m()|int + 1 }} {{ m() is string }}")
case("macro_repr", "{% macro m() %}{% endmacro %}{{ m }}")
case("macro_set_no_leak", "{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}")
case("macro_caller", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 }}{% endcall %}")
case("macro_caller_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}")
case("macro_caller_undefined", "{% macro m() %}[{{ caller }}]{% endmacro %}{{ m() }}")
case("err_macro_no_caller", "{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}")
case("err_macro_too_many", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}")
case("err_macro_unknown_kw", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}")
case("err_macro_infinite_recursion", "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}")
case("err_macro_default_order", "{% macro m(a=1, b) %}{% endmacro %}")

# ---- globals ----
case("range", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(0, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(3) }} {{ range(0, 10, 2) }} {{ range(3)|length }}")
case("err_range_too_big", "{{ range(200000)|length }}")
case("err_range_step_zero", "{{ range(1, 2, 0) }}")
case("dict_global", "{{ dict(a=1, b='x') }} {{ dict([('a', 1)]) }} {{ dict({'a': 1}, b=2) }} {{ dict() }} {{ dict.fromkeys(['a', 'b'], 0) }}")
case("err_raise_exception", "{% if messages|length > 1 %}{{ raise_exception('Only one message supported!') }}{% endif %}", messages=MSGS)
case("strftime_now", "{{ strftime_now('%Y-%m-%d') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %H:%M:%S') }}")
case("joiner_cycler", "{% set j = joiner('/') %}{% for i in [1, 2, 3] %}{{ j() }}{{ i }}{% endfor %} {% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}")
case("context_shadows_global", "{{ range }}", range="mine")

# ---- undefined semantics ----
case("undefined_prints_empty", "[{{ nothing }}] [{{ nothing ~ 'x' }}] {{ nothing is none }} {{ nothing == nothing }}")
case("undefined_iterates_empty", "{% for x in nothing %}x{% endfor %}{{ nothing|length }}")
case("undefined_bool", "{% if nothing %}t{% else %}f{% endif %} {{ not nothing }}")
case("err_undefined_arith", "{{ nothing + 1 }}")
case("err_undefined_call", "{{ nothing() }}")
case("err_undefined_compare", "{{ nothing < 1 }}")
case("err_undefined_neg", "{{ -nothing }}")
case("err_condexpr_no_else_attr", "{{ (x if false).y }}")
case("previtem_undefined", "{% for i in [1] %}[{{ loop.previtem }}]{{ loop.previtem is defined }}{% endfor %}")

# ---- syntax errors (jinja2 refuses the template) ----
case("err_syntax_unclosed_if", "{% if true %}no end")
case("err_syntax_unclosed_for", "line1\n{% for x in y %}\nbody")
case("err_syntax_unclosed_var", "{{ x ")
case("err_syntax_unclosed_comment", "a {# never closed")
case("err_syntax_unclosed_raw", "{% raw %}x")
case("err_syntax_unknown_tag", "{% frobnicate %}")
case("err_syntax_endfor_mismatch", "{% if x %}{% endfor %}")
case("err_syntax_bad_expr", "{{ 1 + }}")
case("err_syntax_bad_char", "{{ a ! b }}")
case("err_syntax_unbalanced", "{{ (1 + 2 }}")
case("err_syntax_bad_bracket", "{{ [1, 2) }}")
case("err_syntax_set_literal", "{% set 1 = 2 %}")
case("err_syntax_chained_is", "{{ x is defined is defined }}")
case("err_syntax_empty_var", "{{ }}")
case("err_syntax_line_number", "ok\nok\n{{ x + }}\n")
case("err_syntax_extends_unknown", "{% macro %}{% endmacro %}")
case("err_syntax_else_outside", "{% else %}")
case("err_syntax_string_escape", "{{ '\\x4' }}")

# ---- chat-template idioms ----
case("chatml", "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", messages=MSGS, add_generation_prompt=True)
case("llama3_like", "{{- bos_token }}\n{%- for message in messages %}\n    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n", messages=MSGS, bos_token="<|begin_of_text|>", add_generation_prompt=True)
case("system_message_split", "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}[{{ system_message }}]{% for m in loop_messages %}{{ m.role[0]|upper }}{% endfor %}", messages=MSGS)
case("err_alternation_check", "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% endfor %}", messages=MSGS)
case("content_parts", "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}{% if p.type == 'text' %}{{ p.text }}{% elif p.type == 'image' %}<image>{% endif %}{% endfor %}{% endif %}{% endfor %}", messages=PARTS)
case("tools_block", "{%- if tools %}\n<tools>\n{%- for tool in tools %}\n{{ tool | tojson }}\n{%- endfor %}\n</tools>\n{%- endif %}", tools=TOOLS)
case("tool_calls", "{%- for tc in message.tool_calls %}{%- if tc.function is defined %}{%- set tc = tc.function %}{%- endif %}<call>{\"name\": \"{{ tc.name }}\", \"arguments\": {{ tc.arguments | tojson }}}</call>{%- endfor %}", message={"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1, "y": "two"}}}]})
case("reasoning_split", "{%- set content = message.content %}{%- if '</think>' in content %}{%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}[{{ reasoning }}][{{ content }}]", message={"content": "<think>\nhmm\n</think>\n\nAnswer"})
case("last_user_index", "{%- set ns = namespace(last=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last = loop.index0 %}{%- endif %}{%- endfor %}{{ ns.last }}", messages=MSGS)
case("reverse_loop_multi_step", "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}{%- if ns.multi_step_tool and message.role == 'user' %}{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}{{ ns.last_query_index }}", messages=MSGS)
case("date_string", "Today Date: {{ strftime_now('%d %b %Y') }}\n{{ date_string | default('x') }}")
case("json_dumps_args", "{{ tools[0].function.parameters|tojson(ensure_ascii=False, indent=2, sort_keys=True) }}", tools=TOOLS)

# ---- found by differential fuzzing against jinja2 ----
case("format_spec", "{{ '{:>8.3f}|{:<+6d}|{:^7s}|{:08.2f}|{:e}|{:g}|{:%}|{:.1%}'.format(3.14159, 42, 'ab', -3.5, 12345.678, 0.0001, 0.25, 0.125) }}")
case("format_spec_ints", "{{ '{:,d} {:_d} {:_x} {:#b} {:#o} {:c} {:X}'.format(1234567, 1234567, 65535, 5, 8, 65, 255) }} {{ '{:*^9}|{:->5}|{:0=6d}'.format('mid', 'r', -42) }}")
case("format_nested_spec", "{{ '{0:{1}}|'.format(1, 5) }}{{ '{:.3}|{:.2}'.format(1.0, 123.0) }}")
case("err_format_mixed_numbering", "{{ '{0}{}'.format(1, 2) }}")
case("err_format_code", "{{ '{:d}'.format('a') }}")
case("percent_many", "{{ '%5.1f|%-8s|%+d|% d|%05d|%.3d|%c|%c|%r|%e|%g|%G|%i|%u' % (3.14159, 'ab', 5, 5, -42, 7, 65, 'z', 'q', 1234.5, 0.00001, 1e20, 3.9, 4) }} {{ '%*d|%-*d|%.*f' % (5, 1, 4, 2, 2, 3.14159) }}")
case("percent_undefined_arg", "[{{ 'plain' % nothing }}][{{ '%s' % nothing }}]")
case("err_percent_type", "{{ '%d' % 'a' }}")
case("err_percent_unsupported", "{{ '%z' % 1 }}")
case("int_float_exact_compare", "{{ 9007199254740993 == 9007199254740992.0 }} {{ 9007199254740993 > 9007199254740992.0 }} {{ 1 == 1.0 }} {{ 2 < 2.5 }}")
case("slice_folded_literal", "[{{ (7)[::-1] }}][{{ none[1:] }}][{{ {}[1:] }}][{{ 'abc'['a':] }}]")
case("slice_folded_branch", "[{{ ((t if 0 else 0) if 'x' else s)[1:] }}] {{ not (('a' > u) if (' x ')['a'] else (-0.5)[1:]) }} {{ [(7)[::-1] is defined, n] }}", t=1, s="s", n=1)
case("err_slice_int_variable", "{{ n[1:] }}", n=5)
case("err_slice_dict_variable", "{{ d[:2] }}", d={"a": 1})
case("err_slice_bool_literal_in_list", "{{ [(false)[::-1], e] }}", e=[])
case("err_slice_str_bounds_variable", "{{ s['a':] }}", s="abc")
case("truncate_non_string", "{{ (1, 'x')|truncate(5, leeway=0) }} {{ range(3)|truncate(5, leeway=0) }} {{ not ({}|truncate(5)) }}")
case("err_indent_int", "{{ 7|indent(2) }}")
case("err_indent_list", "{{ [1]|indent(2) }}")
case("err_indent_undefined", "{{ nothing|indent(2) }}")
case("markup_methods", "{{ (''|e).partition(' ') }} {{ ([]|safe).rsplit(' ', 1) }} {{ ('a b'|safe).split() }} {{ ('<'|e).upper() }} {{ ('ab'|safe)[0] }}")
case("markup_iterates_plain", "{{ ('ab'|safe)|list }} {{ ('ba'|safe)|sort }}")
case("title_casefold_specials", "{{ 'straße ﬁsh'.title() }} {{ 'ß'|capitalize }} {{ 'Straße'.casefold() }} {{ 'ǆemal'.title() }} {{ 'ǅ'|lower }} {{ 'ﬁ'|upper }}")
case("find_start_past_end", "{{ 'hello'.find('', 10) }} {{ 'hello'.find('', 5) }} {{ 'hello'.count('', 10) }} {{ 'hello'.startswith('', 10) }}")
case("startswith_tuple_lazy", "{{ 'hello'.startswith(('h', 1)) }}")
case("err_startswith_tuple_bad_item", "{{ 'hello'.startswith(('x', 1)) }}")
case("round_int_negative", "{{ 1234|round(-2) }} {{ 1250|round(-2) }} {{ 1350|round(-2) }} {{ -1250|round(-2) }} {{ 7|round(-5) }}")
case("number_attributes", "{{ 5.real }} {{ 2.5.imag }} {{ 5.numerator }} {{ 5.denominator }} {{ 2.0.is_integer() }} {{ 255.bit_length() }} {{ (3).conjugate() }}")
case("macro_attributes", "{% macro m(x, y=1) %}{{ varargs }}{% endmacro %}{{ m.name }} {{ m.arguments }} {{ m.catch_varargs }} {{ m.catch_kwargs }} {{ m.caller }}")
case("err_macro_caller_param_without_default", "{% macro m(caller) %}[{{ caller() }}]{% endmacro %}{% call m() %}body{% endcall %}")
case("macro_caller_param_with_default", "{% macro m(caller=none) %}[{{ caller() }}]{% endmacro %}{% call m() %}body{% endcall %}")
case("err_sort_undefined_attribute", "{{ [{'a': 2}, {'b': 1}]|sort(attribute='a') }}")
case("scope_static_loop_before_set", "[{% for a in [1] %}{{ x }}{% endfor %}][{{ x }}]{% set x = 5 %}[{{ x }}]", x=1)
case("scope_static_macro_before_set", "{% macro f() %}[{{ x }}]{% endmacro %}{{ f() }}{% set x = 5 %}{{ f() }}", x=1)
case("scope_static_read_first", "{{ x }}{% set x = 5 %}{% for a in [1] %}{{ x }}{% endfor %}", x=1)
case("scope_static_if_branch_resolves", "{% for a in [1] %}[{{ x }}]{% endfor %}{% if false %}{% set x = 5 %}{% endif %}[{{ x }}]", x=1)
case("scope_static_loop_body_set", "{% for a in [1, 2] %}[{{ y }}]{% set y = a %}[{{ y }}]{% endfor %}", y="ctx")
case("scope_static_with", "{% with %}[{{ x }}]{% set x = 2 %}{% endwith %}{% with %}{% for i in [1] %}[{{ z }}]{% endfor %}{% set z = 3 %}{% endwith %}", x=1, z="ctx")
case("for_else_after_break", "{% for i in [1] %}{% break %}{% else %}E{% endfor %}|{% for i in [1, 2] %}{% if i == 1 %}{% continue %}{% endif %}{% else %}E{% endfor %}|{% for i in 'ab' %}{% continue %}{% else %}E{% endfor %}")
case("continue_in_blocks", "{% for i in [1, 2] %}{% set x %}a{% continue %}{% endset %}{{ x }}{% endfor %}|{% for i in [1, 2] %}{% filter upper %}a{% break %}{% endfilter %}b{% endfor %}|{% for i in [1, 2] %}{% with %}{% continue %}{% endwith %}X{% endfor %}")
case("filter_block_args_inner_scope", "{% set x = 'o' %}{% filter replace('a', x) %}a{% endfilter %}")
case("namespace_holds_itself", "{% set ns = namespace() %}{% set ns.me = ns %}{% set ns.l = [ns] %}{{ ns }}|{{ ns.l }}")
case("call_block_caller_twice", "{% macro m() %}{{ caller() }}{{ caller() }}{% endmacro %}{% set n = namespace(i=0) %}{% call m() %}{% set n.i = n.i + 1 %}{{ n.i }}{% endcall %}")
case("scope_read_outer_then_set", "{% set x = 'outer' %}{% for i in [1] %}{{ x }}{% set x = 'inner' %}{{ x }}{% endfor %}{{ x }}")
case("with_scope", "{% with %}{% set q = 1 %}{% endwith %}[{{ q }}]")
case("filter_block_chain", "{% filter trim|upper %}  x  {% endfilter %}|{% filter indent(2) %}a\nb{% endfilter %}")
case("str_methods_on_messages", "{{ messages[0].content.split(' ')[0]|upper }} {{ (messages|last).content }} {{ messages|map(attribute='content')|map('trim')|join('|') }}", messages=MSGS)


def fixed_strftime(fmt):
    return FIXED_NOW.strftime(fmt)


def template_line(exc):
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None


def render(template, context):
    try:
        compiled = _compile_jinja_template(template)
    except Exception as e:  # jinja2 refused the template
        return {"error": str(e), "error_type": type(e).__name__, "error_stage": "parse",
                "error_line": getattr(e, "lineno", None)}
    compiled.environment.globals["strftime_now"] = fixed_strftime
    try:
        return {"output": compiled.render(**context)}
    except RecursionError as e:
        return {"error": "maximum recursion depth exceeded", "error_type": "RecursionError",
                "error_stage": "render", "error_line": None}
    except Exception as e:
        return {"error": str(e), "error_type": type(e).__name__, "error_stage": "render",
                "error_line": template_line(e)}


def main():
    assert jinja2.__version__ == "3.1.6", jinja2.__version__
    names = set()
    out = []
    for name, template, context in CASES:
        assert name not in names, name
        names.add(name)
        context = json.loads(json.dumps(context))  # exactly what the C++ side receives
        result = render(template, context)
        if name.startswith("err_") != ("error" in result):
            print(f"warning: {name}: {result}", file=sys.stderr)
        out.append({"name": name, "template": template, "context": context, **result})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
