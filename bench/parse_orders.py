"""Benchmark: stream-parse SETI order documents into records, then validate them.

Same shape of data as design.md section 6: 20,000 orders of 3 lines in 40 documents of 500,
fed in 64 KiB chunks as they would arrive from the network. Prints throughput for the parse
(seconnect.seti), the compiled per-record validation (jsonschema-rs) and, for comparison,
jsonschema on a sample; plus the peak resident memory. Rates are per CPU second of this
process (wall time is shown too), so other load on the machine disturbs them less.

    .venv/bin/python bench/parse_orders.py [--orders 20000] [--per-doc 500]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator

import seconnect_schemas as schemas
from seconnect.seti import read_records

CHUNK = 64 * 1024


def order_xml(n: int) -> str:
    lines = "".join(
        f"<Product><SKU>SKU-{n % 997}-{i}</SKU><Name>Item &amp; part {i}</Name><Quantity>{i + 1}</Quantity>"
        f"<ItemPrice>{i + 1}2.50</ItemPrice><Weight>1.25</Weight><ProdType>Tangible</ProdType>"
        f"<Taxable>Yes</Taxable><Total>{(i + 1) * (int(f'{i + 1}2') + 0.5):.2f}</Total>"
        f"<OrderOption><OptionName>Color</OptionName><SelectedOption>Blue</SelectedOption></OrderOption></Product>"
        for i in range(3))
    address = ("<Address><Street1>18 Quay Lane</Street1><City>Port Ellery</City><State>ME</State>"
               "<Code>04999</Code><Country>US</Country></Address>")
    return (f"<Order><OrderNumber>{n}</OrderNumber><OrderDate>2011-03-14 16:05:33</OrderDate>"
            f"<Billing><FullName>Customer {n}</FullName><Phone>555-0142</Phone><Email>c{n}@example.net</Email>"
            f"{address}</Billing><Shipping><FullName>Customer {n}</FullName>{address}{lines}</Shipping>"
            f"<Payment><CreditCard><Issuer>Visa</Issuer><TransID>T{n}</TransID><AuthCode>A{n}</AuthCode>"
            f"<Amount>120.00</Amount></CreditCard></Payment><Totals><ProductTotal>110.00</ProductTotal>"
            f"<SubTotal>110.00</SubTotal><Tax><TaxAmount>5.00</TaxAmount></Tax><GrandTotal>120.00</GrandTotal>"
            f"<ShippingTotal><Total>5.00</Total><Description>Ground</Description></ShippingTotal></Totals>"
            f"<Other><OrderInstructions>Leave at door</OrderInstructions><IpHostname>203.0.113.5</IpHostname>"
            f"</Other></Order>")


def documents(total: int, per_doc: int) -> list[bytes]:
    docs = []
    for start in range(0, total, per_doc):
        body = "".join(order_xml(n) for n in range(start, min(total, start + per_doc)))
        docs.append(('<?xml version="1.0"?><SETIOrders><Response><ResponseCode>1</ResponseCode>'
                     f'<ResponseDescription>Success</ResponseDescription></Response>{body}</SETIOrders>').encode())
    return docs


def chunks(doc: bytes) -> Iterator[bytes]:
    for i in range(0, len(doc), CHUNK):
        yield doc[i:i + CHUNK]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--per-doc", type=int, default=500)
    args = parser.parse_args()

    docs = documents(args.orders, args.per_doc)
    size = sum(map(len, docs))
    print(f"{args.orders:,} orders, {len(docs)} documents, {size / 2**20:.1f} MiB of XML")

    # Batch by batch, as an import runs: parse one reply, validate its records, let them go.
    check = schemas.validator("order")
    parse_cpu = validate_cpu = 0.0
    count = 0
    wall = time.perf_counter()
    for doc in docs:
        t0 = time.process_time()
        records = read_records(chunks(doc), function="downloadorders", kind="orders")
        t1 = time.process_time()
        for record in records:
            check(record)
        parse_cpu += t1 - t0
        validate_cpu += time.process_time() - t1
        count += len(records)
    wall = time.perf_counter() - wall
    assert count == args.orders
    for label, cpu in (("parse:", parse_cpu), ("compiled validate:", validate_cpu)):
        print(f"{label:<19} {cpu:6.2f} s CPU  {count / cpu:9,.0f} orders/s  {cpu / count * 1e6:6.0f} µs/order")
    print(f"{'both, wall clock:':<19} {wall:6.2f} s")

    t0 = time.process_time()
    for record in records[:200]:
        assert not schemas.explain("order", record)
    print(f"{'jsonschema explain:':<19} {(time.process_time() - t0) / 200 * 1e6:6.0f} µs/order "
          "(run only on a record that failed)")
    print(f"{'peak RSS:':<19} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MiB "
          "(includes the generated documents)")


if __name__ == "__main__":
    main()
