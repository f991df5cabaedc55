# Doxygen's input filter for smmap.h: the header uses plain C comments so
# that it reads well as text; this makes them doxygen comments on the fly.
#  - a comment on its own line documents what follows, one after code
#    documents that code (/**<); banners ("/* ---- errors */") stay plain;
#  - the first comment describes the file;
#  - tables of errors and defaults (rows indented by three) become
#    preformatted blocks, so their columns survive.
NR == 1 && /^\/\*$/ { print "/** \\file smmap.h"; next }
/^\/\* -+ / { print; next }
{
    sub(/^[ \t]*\/\*$/, "&*")
    if (!sub(/^[ \t]*\/\*[ \t]/, "/** ") && /[^ \t].*\/\* /)
        sub(/[ \t]*\/\* /, " /**< ")
}
/^ \*   [^ ]/ || (table && /^ \*     /) {
    if (!table && prev != " *")
        print " *"          # a code block needs a blank line before it
    sub(/^ \*/, " *     ")
    table = 1
    prev = $0
    print
    next
}
{ table = 0; prev = $0; print }
