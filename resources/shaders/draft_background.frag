#version 330
// Draft (slider-drag) frame, step 3 of 3 (drawn last, only where the person did not land): the photo,
// with the background plate where the head was.
uniform sampler2D u_photo;       // photo crop at this scale (exact base texels)
uniform sampler2D u_backdrop;    // per crop pixel: rgb = photo with the plate where the head was, a = reach
uniform ivec2 u_photo_offset;
uniform sampler2D u_coarse;      // the visibility pass at 1/4 resolution: g = edit weight
uniform vec2 u_extent;           // part of the coarse texture this window uses (uv units)

in vec2 v_uv;
out vec4 out_colour;

void main() {
    ivec2 pixel = ivec2(gl_FragCoord.xy) + u_photo_offset;
    vec3 base = texelFetch(u_photo, pixel, 0).rgb;
    vec4 backdrop = texelFetch(u_backdrop, pixel, 0);
    float m = max(clamp(texture(u_coarse, v_uv * u_extent).g * 6.0, 0.0, 1.0), backdrop.a);
    out_colour = vec4(mix(base, backdrop.rgb, m), m);
}
