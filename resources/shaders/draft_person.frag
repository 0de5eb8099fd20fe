#version 330
// Draft (slider-drag) frame, step 2 of 3: the person mesh, blended and pasted in the same pass.
// The visibility blur comes from the 1/4-resolution visibility pass, bilinearly enlarged. The generated
// texture (source pixel, gain and weight) is interpolated from the vertices rather than read from its
// textures: two fewer reads. A backend's per-view generated image is not drawn here (settled frames only).
// The frame may be drawn below the photo crop's resolution: the photo and the backdrop are sampled where
// each output pixel's centre falls (exactly a texel centre when the two resolutions are the same).
uniform sampler2D u_photo;
uniform sampler2D u_backdrop;    // per crop pixel: rgb = photo with the plate where the head was, a = reach
uniform sampler2D u_coarse;      // r = validity x quality, g = edit, b = coverage (1/4 resolution)
uniform vec4 u_window;           // output window: x0, y0, width, height in full-resolution pixels
uniform vec4 u_texture;          // photo crop: x0, y0, width, height in full-resolution pixels
uniform vec2 u_size;             // output window size in pixels
uniform vec2 u_extent;           // part of the coarse texture this window uses (uv units)

in vec2 v_uv;
in float v_quality;
in vec2 v_generated_px;          // the generated texture's source texture coordinate, per vertex
in vec4 v_generated_gain;        // the generated texture's colour gain / 2 and weight, per vertex
out vec4 out_colour;

void main() {
    vec4 photo = texture(u_photo, v_uv);
    // The skirt (quality < 0, the head's hidden side) is head wherever its colour comes from. (No discard
    // of the outline's background here as in the full render: it would cost the drag its early depth test.)
    if (v_quality < 0.0) photo.a = 1.0;
    vec3 generated = photo.rgb;
    if (v_generated_gain.a > 0.002) {
        vec3 resampled = texture(u_photo, v_generated_px).rgb * v_generated_gain.rgb * 2.0;
        generated = mix(photo.rgb, clamp(resampled, 0.0, 1.0), v_generated_gain.a);
    }
    vec2 screen_uv = gl_FragCoord.xy / u_size;
    vec4 coarse = texture(u_coarse, screen_uv * u_extent);
    float seen = coarse.r / max(coarse.b, 1e-4);
    float a = clamp((seen - 0.12) / 0.3, 0.0, 1.0) * smoothstep(0.8, 1.0, coarse.b);
    vec3 person = mix(generated, photo.rgb, a);

    vec2 here = (u_window.xy + screen_uv * u_window.zw - u_texture.xy) / u_texture.zw;
#ifdef SAME_RESOLUTION
    ivec2 texel = ivec2(here * vec2(textureSize(u_photo, 0)));  // the frame's pixels are the crop's
    vec3 base = texelFetch(u_photo, texel, 0).rgb;
    vec4 backdrop = texelFetch(u_backdrop, texel, 0);
#else
    vec3 base = texture(u_photo, here).rgb;
    vec4 backdrop = texture(u_backdrop, here);
#endif
    vec3 edited = mix(backdrop.rgb, person, photo.a);
    float m = max(clamp(coarse.g * 6.0, 0.0, 1.0), backdrop.a);
    out_colour = vec4(mix(base, edited, m), m);
}
