/**
 * limit: the rate limits of the rules that decided the call, counted atomically (across instances with
 * Redis). A counter that cannot answer ends the run with STORE_UNAVAILABLE; it never lets a call through.
 */
import { GatewayError } from '../../kernel/index.js';
import type { RateLimiter } from '../../services/ratelimit/index.js';
import type { Step } from '../step.js';

export function limitStep(limiter: RateLimiter | undefined): Step {
  return {
    name: 'limit',
    when: (state) => state.decision !== undefined && (state.decision.rateLimits?.length ?? 0) > 0,
    async run(state) {
      for (const limit of state.decision!.rateLimits ?? []) {
        if (limiter === undefined) {
          return { end: new GatewayError('STORE_UNAVAILABLE', 'no rate-limit counter is configured') };
        }
        let within: boolean;
        try {
          within = await limiter.hit(limit.key, limit.calls, limit.perSeconds);
        } catch (error) {
          return {
            end: new GatewayError('STORE_UNAVAILABLE', 'the rate-limit counter is unavailable', undefined, {
              cause: error,
            }),
          };
        }
        if (!within) {
          state.record.reason = `rate limit of rule ${limit.rule} reached (${limit.calls} per ${limit.perSeconds}s)`;
          return {
            end: new GatewayError(
              'RATE_LIMITED',
              `rate limit reached: at most ${limit.calls} calls per ${limit.perSeconds} s`,
            ),
          };
        }
      }
      return undefined;
    },
  };
}
