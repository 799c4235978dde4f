/*
 * gatewayd's reports for gatewayctl doctor: the clients it refused on its own
 * (GW_REFUSED) and, in relay mode, whether its upstream answers (GW_UPSTREAM).
 * Each is checked like any other gatewayd message (a report that cannot be
 * true drops the link), then kept only within the link's report rate
 * (gwlink_report_budget): a gatewayd that reports more has the excess counted,
 * not kept, so it can neither fill brokerd's memory nor its log.
 */
#ifndef BROKERD_GWREPORT_H
#define BROKERD_GWREPORT_H

struct broker;
struct gwlink_call;

void gwreport_init(struct broker *br);
/* The permit table's handlers. */
void gwreport_refused(struct gwlink_call *call);
void gwreport_upstream(struct gwlink_call *call);

#endif
