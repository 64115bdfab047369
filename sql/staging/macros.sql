-- reads: nothing
-- writes: temp macros stg_trim, stg_is_blank, stg_blank_to_null, stg_nfc, stg_trimmed,
--         stg_code_trimmed, stg_text, stg_code, stg_int_code, stg_local_ts, stg_channel,
--         stg_amount_vnd, stg_flag, stg_iso_date, stg_level_list
-- Parsing macros for the landed source values (source-api.md "What real exports look like").
-- Every landed field arrives as VARCHAR (a JSON number 2 and a string "2" read alike), so each
-- macro takes VARCHAR and returns a typed value, or NULL when the value is empty or unparseable.
-- Callers tell the two NULLs apart with stg_is_blank: blank is "absent", anything else is broken.

-- Empty means absent, null, "" or only whitespace (spaces, tabs, line breaks: what a sender
-- may leave around a value). trim() with a character set walks the whole string, so it runs only
-- when an end is whitespace (byte tests; decision 0034).
CREATE OR REPLACE MACRO stg_trim(v) AS
    CASE WHEN ascii(v) IN (9, 10, 13, 32) OR ends_with(v, ' ') OR ends_with(v, chr(9))
              OR ends_with(v, chr(10)) OR ends_with(v, chr(13))
         THEN trim(v, E' \t\n\r') ELSE v END;

CREATE OR REPLACE MACRO stg_is_blank(v) AS
    v IS NULL OR stg_trim(v) = '';

CREATE OR REPLACE MACRO stg_blank_to_null(v) AS
    CASE WHEN stg_is_blank(v) THEN NULL ELSE v END;

-- NFC that keeps every character: DuckDB's nfc_normalize stops at U+0000 in non-ASCII text
-- ("Công\0dân" came back as "Công"), so a text holding NUL is normalized piece by piece.
CREATE OR REPLACE MACRO stg_nfc(v) AS
    CASE WHEN contains(v, chr(0))
         THEN array_to_string(list_transform(string_split(v, chr(0)), lambda piece: nfc_normalize(piece)), chr(0))
         ELSE nfc_normalize(v) END;

-- A value trimmed, blank as NULL: what stg_text and stg_code type. The dossier and payment
-- staging trim each field once, in a CTE of its own, and type the trimmed column with stg_nfc or
-- stg_code_trimmed: stg_nfc names its argument three times, and a macro's argument is an
-- expression, not a value, so stg_code(v) trims v three times (decision 0034).
CREATE OR REPLACE MACRO stg_trimmed(v) AS
    nullif(stg_trim(v), '');

-- Codes, enums and reference fields may carry surrounding whitespace (and NFD accents). A JSON
-- object or array reads as its JSON text; it is no code, so it counts as missing (quarantined).
-- (The CASE only passes t through: stg_text inside a CASE branch is slower; decision 0034.)
CREATE OR REPLACE MACRO stg_code_trimmed(t) AS
    stg_nfc(CASE WHEN NOT regexp_matches(t, '^\s*[\[{]') THEN t END);

-- Free text (names): stored NFC so equal names compare equal whatever the sender's normal form.
CREATE OR REPLACE MACRO stg_text(v) AS
    stg_nfc(stg_trimmed(v));

CREATE OR REPLACE MACRO stg_code(v) AS
    stg_code_trimmed(stg_trimmed(v));

-- An integer code is a JSON integer or a string of digits; '4.5', '-1' and '2e0' are not.
-- (Digit-only shapes need no NFC: the parsers below work on the trimmed text alone.)
CREATE OR REPLACE MACRO stg_int_code(v) AS
    CASE WHEN regexp_full_match(stg_trim(v), '[0-9]{1,9}')
         THEN CAST(stg_trim(v) AS INTEGER) END;

-- Local wall time (Asia/Ho_Chi_Minh, no offset) in exactly one of the two source formats.
-- The shape is checked first because strptime alone is lenient ('1/3/2023 1:02:03' parses);
-- try_strptime then rejects instants that do not exist (31/02, hour 25, second 60).
CREATE OR REPLACE MACRO stg_local_ts(v) AS
    CASE WHEN regexp_full_match(stg_trim(v), '[0-9]{14}')
              THEN try_strptime(stg_trim(v), '%Y%m%d%H%M%S')
         WHEN regexp_full_match(stg_trim(v), '[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}')
              THEN try_strptime(stg_trim(v), '%d/%m/%Y %H:%M:%S')
    END;

-- KenhThucHien: 1 | 2 | 3, as a number, a digit string or its Vietnamese label (NFC or NFD,
-- any letter case). Lookups by list position, not CASE x WHEN …: DuckDB expands that into one
-- evaluation of x per branch.
CREATE OR REPLACE MACRO stg_channel(v) AS
    coalesce(list_position([1, 2, 3], stg_int_code(v)),
             list_position(['trực tiếp', 'trực tuyến', 'bưu chính công ích'], lower(stg_code(v))))::SMALLINT;

-- SoTien in VND: 1500000, "1500000", "1.500.000" or "1.500.000 đ" (dot = thousands separator).
-- A leading minus is parsed so that a negative amount can be reported as negative, not as junk.
CREATE OR REPLACE MACRO stg_amount_vnd(v) AS
    CASE WHEN regexp_full_match(stg_code(v), '-?([0-9]+|[0-9]{1,3}(\.[0-9]{3})+) ?(đ|Đ|vnđ|VNĐ|vnd|VND)?')
         THEN try_cast(regexp_replace(stg_code(v), '[^0-9-]', '', 'g') AS BIGINT)
    END;

-- Flags: "0"/"1" or JSON booleans (read as 'true'/'false').
CREATE OR REPLACE MACRO stg_flag(v) AS
    [TRUE, TRUE, FALSE, FALSE][list_position(['1', 'true', '0', 'false'], lower(stg_code(v)))];

-- Reference-list dates: exactly yyyy-MM-dd naming a real day.
CREATE OR REPLACE MACRO stg_iso_date(v) AS
    CASE WHEN regexp_full_match(stg_trim(v), '[0-9]{4}-[0-9]{2}-[0-9]{2}')
         THEN CAST(try_strptime(stg_trim(v), '%Y-%m-%d') AS DATE) END;

-- CapThucHien: a JSON list of levels (read as its JSON text), or tolerated as a plain
-- comma/semicolon separated string. Elements trimmed, upper-cased, blanks dropped.
CREATE OR REPLACE MACRO stg_level_list(v) AS
    CASE WHEN stg_is_blank(v) THEN NULL
         ELSE list_filter(
                  list_transform(
                      CASE WHEN json_valid(v) AND json_type(v::JSON) = 'ARRAY'
                           THEN CAST(json_extract_string(v::JSON, '$[*]') AS VARCHAR[])
                           ELSE string_split_regex(v, '[,;]') END,
                      lambda x: upper(stg_code(x))),
                  lambda x: x IS NOT NULL)
    END;
