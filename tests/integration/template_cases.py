"""Alert-template cases for test_rules_conformance: what pgdr's test-rules
and check-rules must print exactly as promtool 2.42 does.

EXPAND: templates expanded for an alert (output and expansion errors).
REFUSE: templates that check-rules rejects (parse errors).
Not here, because they differ for reasons outside templates: a query whose
PromQL ends inside a call (`sum(`: promtool says "unclosed left
parenthesis", pgdr's PromQL parser "unexpected end of input").
"""
import json

# (name, template): each is the annotation `r` of alert T_name, whose
# expression g{a="x"} has the value 3 at the 1m evaluation (see TEST_HEAD).
# Every action and function of Prometheus 2.42's alert templates appears;
# queries returning several series go through sortByLabel, since promtool's
# order of a query's result follows a Go map.
EXPAND = [
    ("if_else_if", '{{ if gt $value 5.0 }}big{{ else if gt $value 1.0 }}mid{{ else }}small{{ end }}'),
    ("if_decl", '{{ if $v := $labels.a }}v={{ $v }}{{ end }}'),
    ("with_else", '{{ with $labels.missing }}has {{ . }}{{ else }}none{{ end }} {{ with $labels.a }}a={{ . }}{{ end }}'),
    ("range_map_kv", '{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}'),
    ("range_map_v", '{{ range $v := $labels }}{{ $v }},{{ end }}'),
    ("range_dot", '{{ range $labels }}[{{ . }}]{{ end }}'),
    ("range_else", '{{ range query "nothing" }}x{{ else }}empty{{ end }}'),
    ("range_query", '{{ range sortByLabel "a" (query "g") }}{{ .Labels.a }}:{{ .Value }} {{ end }}'),
    ("range_index", '{{ range $i, $s := query "g" | sortByLabel "b" }}{{ $i }}={{ $s.Value }} {{ end }}'),
    ("break_continue", '{{ range $i, $s := sortByLabel "a" (query "g") }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if ge $i 2 }}{{ break }}{{ end }}{{ $s.Labels.a }}{{ end }}'),
    ("define_template", '{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" $labels.a }}{{ template "x" }}'),
    ("block", '{{ block "b" $value }}v={{ . }}{{ end }}'),
    ("declare_assign", '{{ $x := 1 }}{{ $x = 2 }}{{ $x }}{{ if true }}{{ $x = 3 }}{{ $y := 4 }}{{ $y }}{{ end }}{{ $x }}'),
    ("pipeline", '{{ $value | printf "%.1f" | printf "<%s>" }}'),
    ("parens", '{{ printf "%s-%s" (toUpper $labels.a) (.Labels.b | title) }}'),
    ("field_chains", '{{ (query "g{a=\\"y\\"}" | first).Labels.a }} {{ $labels.a }} {{ .Labels.a }} {{ .Value }} {{ $.Labels.b }}'),
    ("comments_trim", 'a  {{- /* c */ -}}  b {{/* x */}} c {{- 1 }} {{ 2 -}} d'),
    ("print_values", '{{ $labels }} {{ .ExternalLabels }} {{ true }} {{ 1 }} {{ 1.5 }} {{ "s" }} {{ 0x1F }} {{ 1e3 }} {{ \'a\' }} {{ $labels.nope }}'),
    ("printf_verbs", '{{ printf "%v|%s|%d|%f|%g|%e|%q|%x|%X|%t|%5.2f|%-6s|%06d|%+d|%T|%%|%o|%c|%8.3e|%G" $value "s" 42 $value 1e21 123.456 "q" 255 "hi" true 3.14159 "ab" 42 5 $value 8 65 1234.5 1e-7 }}'),
    ("printf_bad", '{{ printf "%d %s %z" 1.5 2 "x" }} {{ printf "%d" }} {{ printf "x" 1 "y" }} {{ printf "%" }} {{ printf "%v %v" $labels .Value }}'),
    ("print_println", '{{ print 1 2 "a" "b" 3 }}|{{ println 1 "x" }}|{{ print }}'),
    ("html_js_urlquery", '{{ html "<a href=\\"x\\">&\'</a>" }} {{ js "it\'s <b> \\"q\\" = \\\\" }} {{ urlquery "a b&c=d/\u00e9" }} {{ html 1 2 }} {{ $labels.a | urlquery }}'),
    ("len_index_slice", '{{ len $labels }} {{ len "abc" }} {{ index $labels "a" }} {{ index "abc" 1 }} {{ slice "abcdef" 1 3 }} {{ slice "abc" 1 }} {{ len (query "g") }} {{ (index (sortByLabel "a" (query "g")) 0).Labels.a }} {{ index $labels "nope" }}'),
    ("comparisons", '{{ eq 1 1 }} {{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ lt 1.5 2.5 }} {{ le "a" "b" }} {{ gt 3 2 }} {{ ge $value 0.0 }} {{ eq $labels.a "x" }} {{ lt "b" "a" }} {{ eq true false }}'),
    ("and_or_not", '{{ and 1 0 }} {{ or 0 "" "x" }} {{ not true }} {{ and true "y" }} {{ or false }} {{ if and $labels.a (not $labels.zz) }}ok{{ end }} {{ or 0 $value }} {{ "v" | and 1 }}'),
    ("short_circuit", '{{ and false (first (query "nothing")) }} {{ or true (first (query "nothing")) }}'),
    ("query_first_label_value", '{{ with query "g{b=\\"r\\"}" }}{{ . | first | label "a" }} {{ . | first | value }}{{ end }} [{{ query "g{a=\\"z\\"}" | first | strvalue }}] {{ query "g{a=\\"y\\"}" | first | value | humanize }}'),
    ("query_scalar", '{{ query "scalar(g{a=\\"y\\"}) * 2" | first | value }} {{ (query "vector(1)" | first).Labels }}'),
    ("sort_by_label", '{{ range sortByLabel "b" (query "g") }}{{ .Labels.b }}{{ end }} {{ range sortByLabel "a" (query "g") }}{{ .Labels.a }}{{ end }}'),
    ("humanize", '{{ humanize 1234567 }} {{ humanize "0.000012" }} {{ humanize 0 }} {{ humanize -1500 }} {{ humanize 1e30 }} {{ humanize 0.5 }}'),
    ("humanize1024", '{{ humanize1024 1073741824 }} {{ humanize1024 1 }} {{ humanize1024 "2048" }} {{ humanize1024 -3000 }}'),
    ("humanize_duration", '{{ humanizeDuration 90061 }} {{ humanizeDuration 0.0005 }} {{ humanizeDuration 0 }} {{ humanizeDuration -75 }} {{ humanizeDuration 59.5 }} {{ humanizeDuration "3600" }}'),
    ("humanize_percentage", '{{ humanizePercentage 0.5 }} {{ humanizePercentage 0.12345 }} {{ humanizePercentage "1" }}'),
    ("humanize_timestamp", '{{ humanizeTimestamp 1700000000.123 }} {{ humanizeTimestamp 0 }} {{ humanizeTimestamp 1.5555 }} {{ humanizeTimestamp "86400" }}'),
    ("to_time", '{{ toTime 1700000000 }} {{ (toTime 1700000000.5).Unix }} {{ toTime "60.25" }}'),
    ("title_upper_lower", '{{ title "hello wORLD foo-bar it\'s a_b x.y" }} {{ toUpper "abc-d" }} {{ toLower "ABC-D" }}'),
    ("match", '{{ match "^x" "xy" }} {{ match "^y" $labels.a }} {{ if match "x|z" $labels.a }}m{{ end }}'),
    ("re_replace_all", '{{ reReplaceAll "(a+)" "<$1>" "baaad" }} {{ reReplaceAll "" "-" "abc" }} {{ reReplaceAll "a*" "X" "baaac" }} {{ reReplaceAll "(?P<w>\\\\w+)@(\\\\w+)" "${2}:$w$$" "me@host" }} {{ reReplaceAll "x" "$1y" "axb" }}'),
    ("safe_html", '{{ safeHtml "<b>bold</b>" }} {{ "<i>" | safeHtml }}'),
    ("strip_port_domain", '{{ stripPort "host:9090" }} {{ stripPort "[::1]:80" }} {{ stripPort "noport" }} {{ stripDomain "a.b.c:80" }} {{ stripDomain "10.0.0.1:80" }} {{ stripDomain "host.example.com" }} {{ stripDomain "[::1]:9" }} {{ stripDomain "" }}'),
    ("graph_table_link", '{{ graphLink "rate(x[5m]) > 1" }} {{ tableLink "up{job=\\"a\\"}" }}'),
    ("args", '{{ define "t" }}{{ .arg0 }}-{{ .arg1 }}-{{ .arg2 }}{{ end }}{{ template "t" (args "a" 2) }} {{ args 1 "x" }}'),
    ("parse_duration", '{{ parseDuration "1h30m" }} {{ parseDuration "5m" | humanizeDuration }} {{ parseDuration "1d2h" }} {{ parseDuration "250ms" }}'),
    ("variables_scope", '{{ $a := "outer" }}{{ with $labels.a }}{{ $a := "inner" }}{{ $a }}{{ end }} {{ $a }} {{ $externalLabels.region }} {{ $externalURL }}'),
    ("nested_templates", '{{ define "inner" }}({{ . }}){{ end }}{{ define "outer" }}<{{ template "inner" . }}>{{ end }}{{ template "outer" "z" }}'),
    ("multiline", 'line1\n{{ if true -}}\n  line2\n{{- end }}\n{{ $labels.a }}'),
    # Expansion errors, as promtool shows them.
    ("err_compare_types", '{{ gt $value 1 }}'),
    ("err_undefined_template", '{{ template "nope" }}'),
    ("err_arg_count", '{{ humanize }}'),
    ("err_arg_count2", '{{ toUpper "a" "b" }}'),
    ("err_wrong_type", '{{ toUpper 1 }}'),
    ("err_wrong_type_value", '{{ toUpper $value }}'),
    ("err_first_empty", '{{ first (query "nothing") }}'),
    ("err_index_type", '{{ index $labels 1 }}'),
    ("err_nil_command", '{{ nil }}'),
    ("err_not_function", '{{ 1 2 }}'),
    ("err_len_type", '{{ len 3 }}'),
    ("err_field_of_string", '{{ $labels.a.b }}'),
    ("err_no_field", '{{ .Nope }}'),
    ("err_range_float", '{{ range $value }}{{ end }}'),
    ("err_humanize_string", '{{ humanize "x" }}'),
    ("err_parse_duration", '{{ parseDuration "5x" }}'),
    ("err_external_url", '{{ externalURL }}'),
    ("err_path_prefix", '{{ pathPrefix }}'),
    ("err_to_time_nan", '{{ toTime "NaN" }}'),
    ("err_index_range", '{{ index "abc" 5 }}'),
    ("err_slice_range", '{{ slice "abc" 2 1 }}'),
    ("err_lt_bool", '{{ lt true false }}'),
    ("err_eq_missing", '{{ eq 1 }}'),
    ("err_regexp", '{{ reReplaceAll "(" "x" "y" }}'),
    ("err_match_regexp", '{{ match "[" "x" }}'),
    ("err_long_context", '{{ printf "%s" (toUpper "abcdefghijklmnopqrstuvwxyz" "extra") }}'),
]
# Formatting corners, nil arguments, Go's type names and more errors.
EXPAND += [
    ("nan_inf", '{{ query "vector(0)/0" | first | value }} {{ query "vector(1e300*1e300)" | first | value }} {{ query "vector(0)/0" | first | value | humanize }} {{ printf "%v %f %5.1f|%e" (query "vector(0)/0" | first | value) (query "-vector(1e300*1e300)" | first | value) (query "vector(1e300*1e300)" | first | value) (query "vector(0)/0" | first | value) }}'),
    ("printf_misc", '{{ printf "%.0f|%.0f|%s|%d|%v|%s|%t|%e|%g|%6.2g|%-8.3e|%+g" 2.5 3.5 $labels $labels (args 1 "a") true 1 0.0 1e-7 123.0 0.5 1.0 }}'),
    ("printf_hexfloat", '{{ printf "%x" 1.5 }}'),
    ("print_mix", '{{ print 1.5 2 }}|{{ print "a" 1 2 "b" }}|{{ println }}|{{ print true false }}'),
    ("nil_args", '{{ humanize nil }}'),
    ("nil_string", '{{ toUpper nil }}'),
    ("nil_reflect", '{{ len nil }}'),
    ("nil_first", '{{ first nil }}'),
    ("nil_label", '{{ label "a" nil }}'),
    ("deep_fields", '{{ $labels.nope.x }}'),
    ("args_empty", '[{{ (args).x }}] {{ with (args 0) }}{{ .arg0 }}{{ end }} {{ if (query "g") }}y{{ end }} {{ range $i, $v := args "a" }}{{ $i }}{{ $v }}{{ end }}'),
    ("types", '{{ printf "%T %T %T %T %T %T %T %T %T %T" 1 1.5 "s" true $labels (query "g") (safeHtml "x") (toTime 0) (args) (query "g{a=\\"x\\"}" | first) }}'),
    ("template_int", '{{ template "x" 1 }}{{ define "x" }}{{ . | printf "%T" }}{{ end }}'),
    ("html_type", '{{ len (safeHtml "abc") }} {{ eq (safeHtml "a") "a" }} {{ printf "%v" (toTime 0) }} {{ (safeHtml "abc") }}'),
    ("html_type_err", '{{ toUpper (safeHtml "x") }}'),
    ("times", '{{ humanizeTimestamp -1.5 }} {{ humanizeDuration 86400.7 }} {{ humanizeDuration 0.000000001 }} {{ humanizeDuration 3.5e-10 }} {{ humanize 999.99999 }} {{ humanize1024 1023.9 }}'),
    ("regexps", '{{ reReplaceAll "(?i)A" "b" "aA" }} {{ match "\\\\d+" "a12" }} {{ reReplaceAll "^" ">" "ab" }} {{ reReplaceAll "$" "<" "ab" }} {{ reReplaceAll "b*" "-" "abc" }} {{ reReplaceAll "(a)(b)?" "[$2]" "ac" }}'),
    ("hostports", '{{ stripPort "a:b:c" }} {{ stripPort ":80" }} {{ stripDomain "::1" }} {{ stripDomain "host.:80" }} {{ stripDomain "a.b" }} {{ stripPort "[::1]" }}'),
    ("durations", '{{ parseDuration "0" }} {{ parseDuration "1y" }} {{ parseDuration "1w2d" }} {{ parseDuration "90s" }}'),
    ("durations_err", '{{ parseDuration "" }}'),
    ("durations_err2", '{{ parseDuration "1.5h" }}'),
    ("escapes2", '{{ graphLink "a b+c~_.-" }} {{ js "\\t\\n" }} {{ urlquery "~!*()\'" }} {{ html "a&b" "c" }}'),
    ("nots", '{{ not 0 }} {{ not "" }} {{ not $labels }} {{ not (query "nothing") }} {{ or 1 }} {{ not (args) }}'),
    ("eqs", '{{ eq $value 3.0 }} {{ eq (len $labels) 3 }} {{ eq \'a\' 97 }} {{ lt 1 (len $labels) }} {{ printf "%d" (index "abc" 0) }} {{ eq (index "abc" 0) 97 }} {{ printf "%T" (index "abc" 0) }}'),
    ("redeclare", '{{ $x := 1 }}{{ $x := "s" }}{{ $x }}'),
    ("spacing", '{{if true}}x{{end}}|{{- if true -}} x {{- end -}}|{{ if\ntrue }}y{{ end }}|{{ "a" }}{{/* comment */}}{{ "b" }}|x {{- /* c */}} y|{{ 1 }}{{ 2 }}'),
    ("dollar", '{{ $.Value }} {{ .Labels }} {{ .ExternalURL }} {{ $.ExternalLabels.region }}'),
    ("nested_break", '{{ range $labels }}{{ range $labels }}{{ break }}{{ end }}.{{ end }} {{ range $k, $v := .Labels }}{{ if eq $k "a" }}{{ continue }}{{ end }}{{ $k }}{{ end }}'),
    ("template_nil_dot", '{{ template "x" }}{{ define "x" }}[{{ .Labels }}]{{ end }}'),
    ("err_index_string_key", '{{ index $labels "a" "b" }}'),
    ("err_slice_map", '{{ slice $labels }}'),
    ("err_slice3", '{{ slice "abc" 1 2 3 }}'),
    ("err_call", '{{ call 1 }}'),
    ("err_call_nil", '{{ call nil }}'),
    ("err_var_args", '{{ $labels.a 1 }}'),
    ("err_value_args", '{{ $value 1 }}'),
    ("err_pipe_args", '{{ (1) 2 }}'),
    ("err_value_field", '{{ .Value.Labels }}'),
    ("err_index_cap", '{{ index (query "g" | sortByLabel "a") 3 }}'),
    ("err_slice_cap", '{{ slice (query "g") 4 }}'),
    ("err_eq_nil", '{{ eq nil 1 }}'),
    ("err_percent_str", '{{ humanizePercentage "abc" }}'),
    ("err_ts_overflow", '{{ humanizeTimestamp 1e19 }}'),
    ("err_eq_maps", '{{ eq $labels $labels }}'),
    ("err_lt_map", '{{ lt $labels 1 }}'),
    ("err_if_value", '{{ if $labels.a.b }}x{{ end }}'),
    ("err_chain_func", '{{ (toUpper "a").x }}'),
    ("err_html_args", '{{ html }}'),
]
# Number constants, range with =, trim markers alone.
EXPAND += [
    ("huge_values", '{{ humanizeDuration 1e300 }} {{ humanizeDuration -1e300 }} {{ 1e300 }} {{ humanize 1e300 }} {{ humanizeTimestamp 9.2e9 }}'),
    ("ts_edge", '{{ humanizeTimestamp 9.3e9 }}'),
    ("range_assign", '{{ range $i, $v = $labels }}{{ end }}'),
    ("huge_uint", '{{ 9223372036854775808 }}'),
    ("dot_number", '{{ .1 }} {{ $ | printf "%T" }}'),
    ("nil_first_command", '{{ nil | printf "%v" }}'),
    ("trim_only", '[{{- "x" -}}]'),
]
# As public mixins write them (query built with printf, sort_desc).
EXPAND += [
    ("mixin_with_printf_query", '{{ with printf "g{a=\'%s\'}" $labels.a | query }}{{ . | first | label "b" }}{{ end }}'),
    ("mixin_percent", 'Disk is {{ printf "%.2f" $value }}% full, {{ $value | humanizePercentage }} {{ printf "%.4g" $value }}'),
    ("mixin_range_query", '{{ range query "sort_desc(g)" }}{{ .Labels.a }} {{ end }}'),
    ("mixin_value_str", '{{ with query "g{a=\\"y\\"}" }}{{ . | first | value | humanize1024 }}B{{ end }}'),
    ("mixin_labels_join", '{{ $labels.a }}/{{ $labels.b }} on {{ $labels.instance }}'),
]
# Templates check-rules must refuse (parse errors).
REFUSE = [
    ("undefined_function", '{{ nosuch }}'),
    ("missing_if_value", '{{ if }}x{{ end }}'),
    ("unexpected_end", '{{ end }}'),
    ("with_else_if", '{{ with $labels.a }}x{{ else if true }}y{{ end }}'),
    ("else_with", '{{ with $labels.a }}x{{ else with $labels.b }}y{{ end }}'),
    ("break_outside", '{{ break }}'),
    ("undefined_variable", '{{ $undefined }}'),
    ("unterminated_string", '{{ "abc }}'),
    ("non_executable", '{{ 1 | 2 }}'),
    ("tmpl_not_defined", '{{ tmpl "x" . }}'),
    ("range_three_vars", '{{ range $a, $b, $c := $labels }}{{ end }}'),
    ("define_eof", '{{ define "x" }}abc'),
    ("unclosed_paren", '{{ (1 }}'),
    ("bad_number", '{{ 3x }}'),
    ("unexpected_else", '{{ else }}'),
    ("unclosed_action", '{{ $labels.a '),
    ("unclosed_comment", '{{/* x }}'),
    ("dot_after_literal", '{{ "a".b }}'),
    ("variable_out_of_scope", '{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}'),
    ("define_redefined", '{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}'),
    ("bad_character", '{{ $labels.a! }}'),
    ("multiline_error", 'x\n\n{{ if true }}\n{{ nosuch }}'),
]

EXPAND += [
    ("print_sample", '{{ printf "%v" (query "g{a=\\"y\\"}" | first) }} {{ query "g{a=\\"y\\"}" | first }}'),
    ("print_dot", '{{ . }}'),
    ("print_floats", '{{ 1e21 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 100000.0 }} {{ 1000000.0 }} {{ -2.5 }}'),
    ("printf_more", '{{ printf "%5s|%-5d|%x|%X|%.2s|%q|%U|%#x|%b|%08.3f|% d|%+.2e|%g|%v|%.3g|%#v|%#v" "ab" 3 -255 "hi" "abcdef" 65 65 255 5 -3.14159 5 12345.678 100000000.0 1e-5 1234567.0 "x" 42 }}'),
    ("printf_width_float", '{{ printf "[%8.2f][%-8.2f][%08.2f][%+08.2f][%8v][%-8v]" 3.14159 3.14159 -3.14159 3.14159 2.5 "ab" }}'),
    ("index_args", '{{ index (args 1 2) "arg1" }} {{ len (args 1 2 3) }} {{ range $k, $v := args "a" "b" }}{{ $k }}={{ $v }} {{ end }} [{{ (args 1).arg5 }}]'),
    ("eq_nil_missing", '{{ eq $labels.nope "" }} {{ $labels.a | eq "x" }} {{ .Labels.a | len }}'),
    ("query_var", '{{ $x := query "g" }}{{ len $x }} {{ with query "g{a=\\"y\\"}" | first }}{{ .Value }}{{ end }} {{ if not (query "nothing") }}none{{ end }}'),
    ("html_map", '{{ html $labels }} {{ urlquery "a" "b" }} {{ print nil }} {{ printf "%v|%d" nil nil }}'),
    ("pipes_chain", '{{ "x" | toUpper | printf "%s!" }} {{ slice (query "g" | sortByLabel "a") 1 2 | len }} {{ $value | humanize | printf "%s/s" }}'),
    ("define_dot", '{{ define "x" }}{{ .Labels.a }}/{{ .Value }}{{ end }}{{ template "x" . }}'),
    ("time_methods", '{{ (toTime 1.5).UnixMilli }} {{ (toTime 1.5).UnixNano }}'),
    ("trim_edges", '{{- $labels.a -}}   trailing {{- " x " -}}   trim   {{- /* c */ -}}   end'),
    ("number_syntax", '{{ 07 }} {{ 0b101 }} {{ 1_000 }} {{ -3 }} {{ +3 }} {{ .5 }} {{ 0x10 }} {{ 1e2 }} {{ 0o17 }}'),
    ("string_compare", '{{ lt "B" "a" }} {{ ge "b" "b" }} {{ ne "a" "a" }} {{ le 2 2 }} {{ gt 2.5 2.4 }}'),
    ("range_else_var", '{{ range $i, $e := query "nothing" }}{{ else }}[{{ $i }}]{{ end }}'),
    ("with_decl", '{{ with $x := $labels.a }}{{ $x }}{{ . }}{{ end }}'),
    ("humanize_neg", '{{ humanize -0.0012 }} {{ humanize1024 0.5 }} {{ humanizePercentage -0.001 }}'),
    ("err_humanize_label", '{{ humanize $labels.b }}'),
    ("err_humanize_bool", '{{ humanize true }}'),
    ("err_title_number", '{{ title 1 }}'),
    ("err_label_args", '{{ label "a" }}'),
    ("err_value_type", '{{ value (query "g") }}'),
    ("err_eq_int_float", '{{ eq 1 1.0 }}'),
    ("err_and_empty", '{{ and }}'),
    ("err_not_empty", '{{ not }}'),
    ("err_len_empty", '{{ len }}'),
    ("err_index_empty", '{{ index }}'),
    ("err_printf_empty", '{{ printf }}'),
    ("err_printf_number", '{{ printf 1 }}'),
    ("err_query_empty", '{{ query }}'),
    ("err_query_number", '{{ query 1 }}'),
    ("err_query_parse2", '{{ query "1 +" }}'),
    ("err_query_parse3", '{{ query "g{a=}" }}'),
    ("err_query_parse4", '{{ query "nosuchfn(g)" }}'),
    ("err_query_type", '{{ query "rate(g)" }}'),
    ("err_query_matrix", '{{ query "g[5m]" }}'),
    ("err_query_string", '{{ query "\\"str\\"" }}'),
    ("err_pipe_arg_count", '{{ "a" | toUpper "b" }}'),
    ("err_field_args", '{{ .Labels.a 1 }}'),
    ("err_nil_field", '{{ (query "nothing" | first).Value }}'),
    ("trailing_pipe", '{{ $labels.a | }}'),
    ("err_assign_undefined", '{{ $nope = 1 }}'),
    ("err_deep_error", 'ok\n{{ if true }}\n  {{ range $labels }}{{ humanize . }}{{ end }}\n{{ end }}'),
]
REFUSE += [
    ("labels_in_define", '{{ define "x" }}{{ $labels.a }}{{ end }}'),
    ("assign_to_field", '{{ $labels.a := 1 }}'),
    ("continue_outside", '{{ continue }}'),
    ("break_args", '{{ range $labels }}{{ break 1 }}{{ end }}'),
    ("template_no_name", '{{ template x }}'),
    ("nil_dot", '{{ nil.a }}'),
    ("empty_action", '{{ }}'),
    ("bad_char", '{{ # }}'),
    ("right_paren", '{{ ) }}'),
    ("raw_unterminated", '{{ `abc }}'),
    ("char_unterminated", "{{ 'a }}"),
    ("bad_escape", '{{ "\\q" }}'),
    ("if_else_else", '{{ if true }}a{{ else }}b{{ else }}c{{ end }}'),
    ("range_no_end", '{{ range $labels }}x'),
    ("colon", '{{ $x : 1 }}'),
]

# Lexer and parser corners: multi-line actions, definitions, numbers.
REFUSE += [
    ("multiline_action", '{{ if\n$labels.a }}{{ nosuch\n }}{{ end }}'),
    ("newline_string", '{{ "a\nb" }}'),
    ("else_if_missing", '{{ if true }}\n{{ else if }}\n{{ end }}'),
    ("template_pipe", '{{ template "x" | }}'),
    ("block_no_value", '{{ block "x" }}{{ end }}'),
    ("define_else", '{{ define "x" }}{{ else }}{{ end }}'),
    ("define_number", '{{ define 1 }}{{ end }}'),
    ("with_no_value", '{{ with }}{{ end }}'),
    ("range_no_value", '{{ range }}{{ end }}'),
    ("extra_end", '{{ if true }}{{ end }}{{ end }}'),
    ("declare_nothing", '{{ $x := }}'),
    ("two_decls", '{{ $x, $y := 1 }}'),
    ("trailing_dot", '{{ .a.b. }}'),
    ("number_dots", '{{ 1.2.3 }}'),
    ("hex_empty", '{{ 0x }}'),
    ("exp_empty", '{{ 1e }}'),
    ("int_overflow", '{{ 99999999999999999999 }}'),
    ("char_escape", "{{ '\\z' }}"),
    ("char_two", "{{ 'ab' }}"),
    ("dollar_digit", '{{ $1 }}'),
    ("minus_ident", '{{ a-b }}'),
    ("ident_field", '{{ x.y }}'),
    ("nil_stage", '{{ printf "%v" | nil }}'),
    ("else_after_else", '{{ if true }}{{ else }}{{ else if true }}{{ end }}'),
    ("trim_empty", '{{- }}'),
    ("unclosed_in_line2", 'a\n{{ $labels.a\n'),
    ("label_parse_error", '{{ end }}'),
]

TEST_HEAD = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    external_labels: {region: eu}
    external_url: http://x:9090/pre
    input_series:
      - series: 'g{a="x",b="q"}'
        values: '3 3 3'
      - series: 'g{a="y",b="p"}'
        values: '7 7 7'
      - series: 'g{a="z",b="r"}'
        values: '1 1 1'
    alert_rule_test:
"""


def rules_text(cases):
    """A rule file with one alert per case (and a templated label)."""
    lines = ["groups:", "  - name: t", "    rules:"]
    for name, text in cases:
        lines += [f"      - alert: T_{name}", "        expr: 'g{a=\"x\"}'",
                  "        labels:", "          l: " + json.dumps("{{ $labels.b | toUpper }}"),
                  "        annotations:", "          r: " + json.dumps(text)]
    return "\n".join(lines) + "\n"


def test_text(cases):
    """exp_alerts: [] makes both tools print the alerts they got."""
    text = TEST_HEAD
    for name, _ in cases:
        text += f"      - eval_time: 1m\n        alertname: T_{name}\n        exp_alerts: []\n"
    return text


def got_blocks(report):
    """{case name: the report's lines for its alert}."""
    out, current = {}, None
    for line in report.splitlines():
        if line.startswith("    alertname: T_"):
            current = line[len("    alertname: T_"):].split(",")[0]
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}
