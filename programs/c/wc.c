/* wc: counts the lines, words and bytes of stdin and finds its longest line, as an ordinary C
 * program does: stdio, ctype, printf. Built natively with any C compiler, and for the machine
 * with clang and wasi-libc:
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 -o wc.wasm wc.c
 *
 * printf links wasi-libc's float formatting, so the module contains float instructions; this
 * program never executes one, so it runs on the machine as it is.
 */
#include <ctype.h>
#include <stdio.h>

int main(void) {
    long lines = 0, words = 0, bytes = 0, longest = 0, current = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        bytes++;
        if (c == '\n') {
            lines++;
            if (current > longest) longest = current;
            current = 0;
        } else {
            current++;
        }
        if (isspace(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    if (current > longest) longest = current;
    printf("%7ld %7ld %7ld  longest line %ld\n", lines, words, bytes, longest);
    return 0;
}
