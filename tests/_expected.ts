/** Outputs of the Python originals the examples are checked against. */

/** What the Python original of examples/two_tasks prints (CPython 3.12). */
export const TWO_TASKS_OUTPUT: readonly string[] = [
  "Fetching data...",
  "0",
  "1",
  "2",
  "3",
  "Data fetched",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
];
