/**
 * What this browser asked the SFU to send it, per participant and track, merged: a change
 * of one field (a tile's quality) keeps the others (whether the tile is on the page).
 * @packageDocumentation
 */
import { makeMessage, type Quality, type Subscription } from './protocol/index.js';

/** What is wanted of one track (or of all a participant's tracks). @public */
export interface SubscriptionOptions {
  /** Receive its video (default: as before, at first true). */
  video?: boolean;
  /** Receive its audio (default: as before, at first true). */
  audio?: boolean;
  /** The simulcast layer of its video (`low`, `medium`, `high`; default: as before). */
  quality?: Quality | null;
  /** One track (`camera`, `screen` ...); absent: every track of the participant. */
  trackId?: string | null;
}

interface Wish {
  video: boolean;
  audio: boolean;
  quality: Quality | null;
}

/** The wishes of one room's subscriber (see the module). */
export class Wishes {
  private readonly wishes = new Map<string, Wish>();

  /** The `subscription` message for a change, or null if it changes nothing. */
  change(participantId: string, options: SubscriptionOptions): Subscription | null {
    const trackId = options.trackId ?? null;
    const key = `${participantId}/${trackId ?? ''}`;
    const old = this.wishes.get(key) ?? { video: true, audio: true, quality: null };
    const wish: Wish = {
      video: options.video ?? old.video,
      audio: options.audio ?? old.audio,
      quality: options.quality ?? old.quality,
    };
    const first = !this.wishes.has(key);
    if (!first && wish.video === old.video && wish.audio === old.audio && wish.quality === old.quality) {
      return null;
    }
    this.wishes.set(key, wish);
    return makeMessage('subscription', {
      producer_id: participantId,
      video: wish.video,
      audio: wish.audio,
      track_id: trackId,
      quality: wish.quality,
    });
  }

  /** Whether the video of a participant's track is wanted (as far as this browser said). */
  wantsVideo(participantId: string, trackId: string): boolean {
    return (this.wishes.get(`${participantId}/${trackId}`) ?? this.wishes.get(`${participantId}/`))?.video ?? true;
  }

  /** A participant left: the SFU forgot what was asked of it, and so does this. */
  forget(participantId: string): void {
    for (const key of [...this.wishes.keys()]) if (key.startsWith(`${participantId}/`)) this.wishes.delete(key);
  }
}
