/*
 * cli_sql.c: the statement splitter of cli_sql.h. A small state machine
 * over the bytes; it knows nothing of SQL beyond quoting and comments, so
 * the server remains the judge of what a statement means. sql_is_update
 * looks at the first keyword only, to send DELETE as an update.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cli_sql.h"

enum scan { NORMAL, SQUOTE, DQUOTE, LINE_COMMENT, BLOCK_COMMENT };

/* Scan s[0..len); stop at a top-level ';' when stop_at_semi. Returns the
 * index just past that ';', or len. *blank: nothing but space and comments. */
static size_t
scan(const char *s, size_t len, bool stop_at_semi, bool *found, bool *blank)
{
    enum scan st = NORMAL;
    *found = false;
    *blank = true;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i], next = i + 1 < len ? s[i + 1] : '\0';
        switch (st) {
        case NORMAL:
            if (ch == '-' && next == '-') {
                st = LINE_COMMENT;
                i++;
            } else if (ch == '/' && next == '*') {
                st = BLOCK_COMMENT;
                i++;
            } else if (ch == '\'') {
                st = SQUOTE;
                *blank = false;
            } else if (ch == '"') {
                st = DQUOTE;
                *blank = false;
            } else if (ch == ';') {
                if (stop_at_semi) {
                    *found = true;
                    return i + 1;
                }
            } else if (!isspace((unsigned char)ch)) {
                *blank = false;
            }
            break;
        case SQUOTE:
            if (ch == '\'') {
                if (next == '\'')
                    i++;
                else
                    st = NORMAL;
            }
            break;
        case DQUOTE:
            if (ch == '"') {
                if (next == '"')
                    i++;
                else
                    st = NORMAL;
            }
            break;
        case LINE_COMMENT:
            if (ch == '\n') st = NORMAL;
            break;
        case BLOCK_COMMENT:
            if (ch == '*' && next == '/') {
                st = NORMAL;
                i++;
            }
            break;
        }
    }
    return len;
}

bool
sql_find_terminator(const char *s, size_t len, size_t *end)
{
    bool found, blank;
    *end = scan(s, len, true, &found, &blank);
    return found;
}

bool
sql_is_blank(const char *s)
{
    bool found, blank;
    size_t len = strlen(s);
    scan(s, len, false, &found, &blank); /* a ';' alone counts as blank */
    return blank;
}

bool
sql_is_update(const char *s)
{
    size_t i = 0, len = strlen(s);
    for (;;) {
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i + 1 < len && s[i] == '-' && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (i + 1 < len && s[i] == '/' && s[i + 1] == '*') {
            const char *e = strstr(s + i + 2, "*/");
            if (!e) return false;
            i = (size_t)(e - s) + 2;
        } else {
            break;
        }
    }
    return len - i >= 6 && strncasecmp(s + i, "delete", 6) == 0 &&
           !(isalnum((unsigned char)s[i + 6]) || s[i + 6] == '_');
}
