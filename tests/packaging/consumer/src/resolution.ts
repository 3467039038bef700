// Every entry point of the package, as Node's ESM resolution (node16, nodenext) finds it.
import { ArbiterRoom, useParticipants, Room } from 'arbiter-video-react';
import { Room as CoreRoom, parseMessage } from 'arbiter-video-react/core';
import { useChat, useRoom } from 'arbiter-video-react/hooks';
import { ArbiterRoom as PrefabRoom, VideoConference } from 'arbiter-video-react/prefabs';

export const entries = [ArbiterRoom, useParticipants, Room, CoreRoom, parseMessage, useChat, useRoom];
export const prefabs = [PrefabRoom, VideoConference];
export const same: typeof CoreRoom = Room;
