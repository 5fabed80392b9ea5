/* SPDX-License-Identifier: MIT */
/* keys.h - `ukfork keys`: make a CURVE key pair for a node agent or a client.
 */
#ifndef UKF_KEYS_H
#define UKF_KEYS_H

/*
 * ukfork keys NAME [--dir DIR] [--force]
 *
 * argv[0] is the command's name (used in messages), options follow.
 * Writes DIR/NAME.key (the secret key, mode 0600) and DIR/NAME.pub (the
 * public key, mode 0644), one line of 40 Z85 characters each, and prints
 * the public key on stdout. Without --force neither file may exist yet
 * (created O_EXCL|O_NOFOLLOW); with it both are replaced atomically
 * (written under a temporary name, then renamed). Returns the exit code:
 * 0, 1 (I/O: a file exists, cannot be written...), 2 (bad usage).
 */
int ukf_keys_main(int argc, char **argv);

#endif /* UKF_KEYS_H */
