/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A main() for the libFuzzer harnesses where there is no libFuzzer (gcc, CI
 * without clang): replays every file named on the command line, and every file
 * in every folder named there, through LLVMFuzzerTestOneInput(). A crash or a
 * broken invariant aborts; valgrind (ctest fuzz.replay.*) reports the rest.
 * Missing paths are skipped (git keeps no empty regressions folder), but a run
 * that replays nothing fails: a test over nothing proves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

/* Each input in a heap buffer of its exact size, as libFuzzer hands it over. */
static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t capacity = 4096, size = 0;
    uint8_t *data = malloc(capacity);
    size_t got;
    while (data && (got = fread(data + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) {
            uint8_t *bigger = realloc(data, capacity * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            capacity *= 2;
        }
    }
    bool failed = ferror(file) || !data;
    fclose(file);
    if (failed) {
        free(data);
        fprintf(stderr, "replay: %s: cannot read\n", path);
        return -1;
    }
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's regular files, in name order (the same order on every machine). */
static int replay_folder(const char *path)
{
    DIR *folder = opendir(path);
    if (!folder) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **bigger = realloc(names, capacity * sizeof(*names));
            if (!bigger)
                break;
            names = bigger;
        }
        names[count] = strdup(entry->d_name);
        if (names[count])
            count++;
    }
    closedir(folder);
    if (count)
        qsort(names, count, sizeof(*names), compare_names);
    int replayed = 0;
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen(path) + strlen(names[i]) + 2;
        char *file = malloc(length);
        struct stat info;
        if (file) {
            snprintf(file, length, "%s/%s", path, names[i]);
            if (stat(file, &info) == 0 && S_ISREG(info.st_mode)) {
                if (replay_file(file) < 0) {
                    replayed = -1;
                } else if (replayed >= 0) {
                    replayed++;
                }
            }
        }
        free(file);
        free(names[i]);
    }
    free(names);
    return replayed;
}

int main(int argc, char **argv)
{
    int total = 0;
    bool failed = false;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            printf("replay: %s: not there, skipped\n", argv[i]);
            continue;
        }
        int replayed = S_ISDIR(info.st_mode) ? replay_folder(argv[i]) : replay_file(argv[i]);
        if (replayed < 0) {
            failed = true;
            continue;
        }
        printf("replay: %s: %d input%s\n", argv[i], replayed, replayed == 1 ? "" : "s");
        total += replayed;
    }
    if (failed)
        return 1;
    if (total == 0) {
        fprintf(stderr, "replay: no input replayed\n");
        return 1;
    }
    printf("replay: %d inputs, no crash\n", total);
    return 0;
}
