/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The reports on the "mtls" tap: `-z mtls,tree` (and the Statistics menu) counts
 * exchanges; `-z mtls,conv[,filter]` lists them one per row. See SPEC.md "Reports".
 */
#ifndef MTLS_REPORTS_H
#define MTLS_REPORTS_H

void mtls_reports_register(void);

#endif /* MTLS_REPORTS_H */
