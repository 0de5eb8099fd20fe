#version 330
// Draft (slider-drag) frame, step 2 of 2: the person mesh, blended and pasted in the same pass.
// The visibility blur comes from the 1/4-resolution mesh pass, bilinearly enlarged.
uniform sampler2D u_photo;
uniform sampler2D u_mirror;
uniform sampler2D u_mirror_aux;
uniform sampler2D u_plate;
uniform sampler2D u_edit_old;
uniform sampler2D u_coarse;      // r = validity x quality, g = edit, b = coverage (1/4 resolution)
uniform ivec2 u_photo_offset;
uniform vec4 u_texture;
uniform vec4 u_window;
uniform vec4 u_work;
uniform vec2 u_size;             // output window size in pixels
uniform vec2 u_extent;           // part of the coarse texture this window uses (uv units)

in vec2 v_uv;
in vec2 v_work;
in vec2 v_src;
in float v_quality;
in float v_edit;
out vec4 out_colour;

void main() {
    vec4 photo = texture(u_photo, v_uv);
    // The skirt (quality < 0, the head's hidden side) is head wherever its colour comes from. (No discard
    // of the outline's background here as in the full render: it would cost the drag its early depth test.)
    if (v_quality < 0.0) photo.a = 1.0;
    vec3 generated = photo.rgb;
    vec4 aux = texture(u_mirror_aux, v_work);
    if (aux.a > 0.002) {
        vec2 twin = texture(u_mirror, v_work).rg;
        vec3 mirrored = texture(u_photo, (twin + 0.5 - u_texture.xy) / u_texture.zw).rgb * aux.rgb * 2.0;
        generated = mix(photo.rgb, clamp(mirrored, 0.0, 1.0), aux.a);
    }
    vec2 screen_uv = gl_FragCoord.xy / u_size;
    vec4 coarse = texture(u_coarse, screen_uv * u_extent);
    float seen = coarse.r / max(coarse.b, 1e-4);
    float a = clamp((seen - 0.12) / 0.3, 0.0, 1.0) * smoothstep(0.8, 1.0, coarse.b);
    vec3 person = mix(generated, photo.rgb, a);

    vec3 base = texelFetch(u_photo, ivec2(gl_FragCoord.xy) + u_photo_offset, 0).rgb;
    vec2 work_uv = (u_window.xy + screen_uv * u_window.zw - u_work.xy) / u_work.zw;
    vec4 plate = texture(u_plate, work_uv);
    vec3 edited = mix(mix(base, plate.rgb, plate.a), person, photo.a);
    float m = clamp(max(coarse.g, texture(u_edit_old, work_uv).r) * 6.0, 0.0, 1.0);
    out_colour = vec4(mix(base, edited, m), m);
}
