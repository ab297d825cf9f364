// A small typed client of the Movie Booking API, written against the types that
// openapi-typescript generates from the OpenAPI schema (generated/api.d.ts, made by
// scripts/typescript_client_check.sh). It must compile with `tsc --noEmit --strict`: if
// the schema loses integer ids, the one-seat-field request union or the error-code
// enums, this file stops compiling. Each `@ts-expect-error` is a mistake the types must
// catch; an error that no longer happens fails the check too.

import type { components, operations } from "./generated/api";

type Json<T> = T extends { content: { "application/json": infer Body } } ? Body : never;

type BookOp = operations["api_shows_book_create"];
type HoldOp = operations["api_shows_holds_create"];
type ConfirmOp = operations["api_holds_confirm_create"];

type ShowId = BookOp["parameters"]["path"]["id"];
type HoldId = ConfirmOp["parameters"]["path"]["id"];
type BookBody = Json<BookOp["requestBody"]>;
type Booking = Json<BookOp["responses"][201]>;
type Hold = Json<HoldOp["responses"][201]>;
type BookConflict = Json<BookOp["responses"][409]>;
type HoldConflict = Json<HoldOp["responses"][409]>;
type ConfirmConflict = Json<ConfirmOp["responses"][409]>;
type Invalid = Json<BookOp["responses"][400]>;
type Unauthorized = Json<BookOp["responses"][401]>;

// --- What the generated types must say ------------------------------------------------

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

assertType<Equals<ShowId, number>>(); // path ids are integers, the routers' too
assertType<Equals<operations["api_shows_retrieve"]["parameters"]["path"]["id"], number>>();
assertType<Equals<operations["api_bookings_cancel_create"]["parameters"]["path"]["id"], number>>();
assertType<Equals<Booking["id"], number>>();
assertType<Equals<Booking["show"]["id"], number>>();
assertType<Equals<HoldId, string>>(); // holds' ids are UUIDs
assertType<Equals<Hold["booking"], number | null>>();
assertType<
  Equals<
    BookConflict["code"],
    | "show_started"
    | "seat_limit_reached"
    | "seat_unavailable"
    | "no_adjacent_seats"
    | "idempotency_key_reused"
  >
>();
assertType<Equals<Invalid["code"], "invalid">>();
assertType<Equals<Unauthorized["code"], "not_authenticated" | "token_not_valid">>();
assertType<Equals<ConfirmConflict["code"], components["schemas"]["ConfirmHoldConflictCode"]>>();

// The book body is a union of one-field objects (the schema's oneOf). A union lets an
// object literal carry fields of several members; ExactlyOne forbids the others' fields,
// which the union's members say are not theirs.
type KeysOfUnion<U> = U extends unknown ? keyof U : never;
type ExactlyOne<U, K extends PropertyKey = KeysOfUnion<U>> = U extends unknown
  ? U & { [P in Exclude<K, keyof U>]?: never }
  : never;
type SeatSelection = ExactlyOne<BookBody>;
assertType<Equals<KeysOfUnion<BookBody>, "seat_number" | "seat_numbers" | "seats" | "best_available">>();

const byNumbers: SeatSelection = { seat_numbers: [12, 13] };
const byLabels: SeatSelection = { seats: ["B2", "B3"] };
const oneSeat: SeatSelection = { seat_number: 12 };
const best: SeatSelection = { best_available: { count: 2, category: "premium" } };
// @ts-expect-error -- no seat field at all
const none: SeatSelection = {};
// @ts-expect-error -- two seat fields at once (the API answers 400)
const both: SeatSelection = { seat_number: 0, seat_numbers: [0] };
// @ts-expect-error -- seat numbers are numbers
const strings: SeatSelection = { seat_numbers: ["12"] };

// --- A tiny client --------------------------------------------------------------------

type Answer<Ok, Err> = { ok: true; status: number; body: Ok } | { ok: false; status: number; body: Err };
type ApiError = { code: string; detail: string };

class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async post<Ok, Err extends ApiError>(
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<Ok, Err>> {
    const response = await fetch(this.baseUrl + path, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${this.token}`,
        "Content-Type": "application/json",
        ...headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const parsed: unknown = await response.json();
    return response.ok
      ? { ok: true, status: response.status, body: parsed as Ok }
      : { ok: false, status: response.status, body: parsed as Err };
  }

  book(show: ShowId, seats: SeatSelection, idempotencyKey?: string) {
    const headers: Record<string, string> = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
    return this.post<Booking, BookConflict | Invalid | Unauthorized>(
      `/api/shows/${show}/book/`,
      seats,
      headers,
    );
  }

  hold(show: ShowId, seats: SeatSelection) {
    return this.post<Hold, HoldConflict | Invalid | Unauthorized>(`/api/shows/${show}/holds/`, seats);
  }

  confirm(hold: HoldId, idempotencyKey: string) {
    return this.post<Booking, ConfirmConflict | Invalid | Unauthorized>(
      `/api/holds/${hold}/confirm/`,
      undefined,
      { "Idempotency-Key": idempotencyKey },
    );
  }
}

// --- Using it ----------------------------------------------------------------------

function explainBookConflict(error: BookConflict): string {
  switch (error.code) {
    case "seat_unavailable":
      return `Taken meanwhile: ${(error.labels ?? []).join(", ")} (seats ${(error.seats ?? []).join(", ")}).`;
    case "seat_limit_reached":
      return `At most ${error.limit} seats each; you may take ${error.remaining} more.`;
    case "no_adjacent_seats":
      return "No block of seats side by side is left.";
    case "show_started":
      return "The show has started.";
    case "idempotency_key_reused":
      return "That key was used for another purchase: make a new one.";
    default: {
      const unknown: never = error.code; // every code of the enum is handled
      return unknown;
    }
  }
}

async function bookTwoSeats(api: Api, show: ShowId): Promise<string> {
  const answer = await api.book(show, { seat_numbers: [12, 13] }, crypto.randomUUID());
  if (answer.ok) {
    const booking: Booking = answer.body;
    const seatIds: number[] = booking.seat_numbers;
    return `Booked ${booking.reference} (${seatIds.join(", ")}) for ${booking.total_price}.`;
  }
  const error = answer.body;
  if (error.code === "seat_unavailable") {
    // The seats someone else took: offer the rest.
    const taken: number[] = error.seats ?? [];
    return `Seats ${taken.join(", ")} are taken.`;
  }
  // @ts-expect-error -- no such code: the union of codes catches the typo
  if (error.code === "seat_taken") {
    return "unreachable";
  }
  switch (error.code) {
    case "invalid":
      return Object.entries(error.errors ?? {})
        .map(([field, messages]) => `${field}: ${messages.join(" ")}`)
        .join("\n");
    case "not_authenticated":
    case "token_not_valid":
      return "Log in again.";
    default:
      return explainBookConflict(error); // only the 409 body is left
  }
}

async function holdThenConfirm(api: Api, show: ShowId): Promise<string> {
  const held = await api.hold(show, { best_available: { count: 2 } });
  if (!held.ok) {
    return held.body.code === "seat_unavailable" ? "Someone was faster." : held.body.detail;
  }
  const hold: Hold = held.body;
  // @ts-expect-error -- a hold id is a UUID string, not a show's number
  api.confirm(hold.show.id, "key");
  const confirmed = await api.confirm(hold.id, crypto.randomUUID());
  if (confirmed.ok) {
    return `Hold ${hold.id} is booking ${confirmed.body.id}.`;
  }
  switch (confirmed.body.code) {
    case "hold_expired":
      return "Too late: the hold expired.";
    case "hold_not_active":
      return "This hold was already confirmed or released.";
    default:
      return confirmed.body.detail;
  }
}

// @ts-expect-error -- a show id is a number
void bookTwoSeats(new Api("", ""), "7");

export const examples = { byNumbers, byLabels, oneSeat, best, none, both, strings };
export { Api, bookTwoSeats, holdThenConfirm, explainBookConflict };
